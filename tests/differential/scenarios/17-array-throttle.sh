j=$(sbatch --parsable --array=1-3%1 --wrap 'sleep 3'); echo "rc=$?"
wait_state "${j}_1" RUNNING
squeue -h -j "$j" -o '%i|%T|%r' 
scancel "$j"; echo "rc=$?"
