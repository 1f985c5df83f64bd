sbatch -t xx --wrap true; echo "rc=$?"
sbatch --time=1:2:3:4 --wrap true; echo "rc=$?"
