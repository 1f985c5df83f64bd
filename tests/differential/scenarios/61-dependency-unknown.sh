j=$(sbatch --parsable -H -d afterok:99999 --wrap true); echo "rc=$?"
squeue -h -j "$j" -o '%T|%r|%E'
