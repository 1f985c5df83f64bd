j=$(sbatch --parsable -c 1 --wrap 'sleep 6')
wait_state "$j" RUNNING
sinfo -h -o '%t|%C|%A'; echo "rc=$?"
sinfo -h -N -o '%T'
scancel "$j"
