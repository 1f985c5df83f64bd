j=$(sbatch --parsable --begin=now+60 --wrap true)
scontrol uhold "$j"; echo "rc=$?"
squeue -h -j "$j" -o '%T|%r|%p'
scontrol release "$j"; echo "rc=$?"
# Slurm shows None until its scheduler next looks (about a second): compare what it then shows
for i in $(seq 50); do [[ $(squeue -h -j "$j" -o %r) != None ]] && break; sleep 0.2; done
squeue -h -j "$j" -o '%T|%r'
scontrol hold "$j"; echo "rc=$?"
squeue -h -j "$j" -o '%T|%r|%p'
