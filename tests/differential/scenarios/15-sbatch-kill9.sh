printf '#!/bin/bash\nkill -9 $$\n' > k.sh
j=$(sbatch --parsable k.sh); echo "rc=$?"
wait_done "$j"
sacct -P -n -j "$j" -o JobID,JobName,State,ExitCode
squeue -h -j "$j" -t all -o '%i|%T|%r'
