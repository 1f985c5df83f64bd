j=$(sbatch --parsable --wrap 'sleep 30')
wait_state "$j" RUNNING
scontrol requeue "$j"; echo "rc=$?"
sleep 1
squeue -h -j "$j" -o '%T|%r'
scontrol requeue 99999; echo "rc=$?"
