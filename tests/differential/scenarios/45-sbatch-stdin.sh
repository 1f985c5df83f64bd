printf '#!/bin/sh\necho from stdin\n' | sbatch; echo "rc=$?"
j=$(squeue -h -t all -o %i -n sbatch | sort -n | tail -1)
wait_done "$j"
sacct -X -P -n -j "$j" -o JobName,State
