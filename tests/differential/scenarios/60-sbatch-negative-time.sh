j=$(sbatch --parsable -H -t -5 --wrap true); echo "rc=$?"
squeue -h -j "$j" -o '%l'
sbatch --begin=garbage --wrap true; echo "rc=$?"
