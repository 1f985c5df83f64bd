printf '#!/bin/sh\r\necho dos\r\n' > s.sh
sbatch s.sh; echo "rc=$?"
