sbatch --par --wrap true | sed 's/^[0-9]*$/ID/'; echo "rc=${PIPESTATUS[0]}"
sbatch --t 1 --wrap true; echo "rc=$?"
