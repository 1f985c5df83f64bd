h=$(sbatch -d singleton -J single --parsable -H --wrap true); echo "rc=$?"
k=$(sbatch -d singleton -J single --parsable --wrap true); echo "rc=$?"
sleep 1.5
squeue -h -j "$k" -t all -o '%T|%r|%E'
