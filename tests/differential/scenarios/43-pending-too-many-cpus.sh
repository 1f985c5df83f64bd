j=$(sbatch --parsable -c 64 --wrap true); echo "rc=$?"
sleep 1
squeue -h -j "$j" -o '%T|%r'
