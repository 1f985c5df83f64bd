printf '#!/bin/sh\n#SBATCH --no-such-option\ntrue\n' > s.sh
sbatch s.sh; echo "rc=$?"
