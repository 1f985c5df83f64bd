j=$(sbatch --parsable --begin=now+60 --wrap true)
scontrol hold "$j"; echo "rc=$?"
squeue -h -j "$j" -o '%T|%r'
scontrol release "$j"; echo "rc=$?"
scontrol hold 99999; echo "rc=$?"
scontrol release 99999; echo "rc=$?"
r=$(sbatch --parsable --wrap 'sleep 5'); wait_state "$r" RUNNING
scontrol hold "$r"; echo "rc=$?"
