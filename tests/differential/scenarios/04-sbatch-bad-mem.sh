sbatch --mem=xx --wrap true; echo "rc=$?"
sbatch --mem=100000000 --wrap true; echo "rc=$?"
