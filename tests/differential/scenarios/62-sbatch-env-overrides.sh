printf '#!/bin/sh\n#SBATCH -J fromscript\ntrue\n' > s.sh
j=$(SBATCH_JOB_NAME=fromenv sbatch --parsable -H s.sh); squeue -h -j "$j" -o %j
k=$(SBATCH_JOB_NAME=fromenv sbatch --parsable -H -J fromcli s.sh); squeue -h -j "$k" -o %j
l=$(sbatch --parsable -H s.sh); squeue -h -j "$l" -o %j
