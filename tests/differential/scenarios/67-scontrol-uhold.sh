j=$(sbatch --parsable --begin=now+60 --wrap true)
scontrol uhold "$j"; echo "rc=$?"
squeue -h -j "$j" -o '%T|%r|%p'
scontrol release "$j"; echo "rc=$?"
squeue -h -j "$j" -o '%T|%r'
scontrol hold "$j"; echo "rc=$?"
squeue -h -j "$j" -o '%T|%r|%p'
