sbatch -c x --wrap true; echo "rc=$?"
sbatch -n x --wrap true; echo "rc=$?"
