sbatch --no-such-option --wrap true; echo "rc=$?"
sbatch --x --wrap true; echo "rc=$?"
