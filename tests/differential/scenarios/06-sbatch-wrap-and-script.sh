printf '#!/bin/sh\ntrue\n' > s.sh
sbatch --wrap true s.sh; echo "rc=$?"
