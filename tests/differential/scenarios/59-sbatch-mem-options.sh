sbatch --mem=1G --mem-per-cpu=1G --wrap true; echo "rc=$?"
j=$(sbatch --parsable -H --mem=100M --wrap true); echo "rc=$?"
squeue -h -j "$j" -o '%m'
k=$(sbatch --parsable -H --mem-per-cpu=200M -c 2 --wrap true); echo "rc=$?"
squeue -h -j "$k" -o '%m|%C'
