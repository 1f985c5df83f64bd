j=$(sbatch --parsable --wrap 'sleep 30')
wait_state "$j" RUNNING
scancel "$j"; echo "rc=$?"
wait_done "$j"
squeue -h -j "$j" -t all -o '%i|%T|%r'
sacct -P -n -j "$j" -o JobID,JobName,State,ExitCode
