j=$(sbatch --parsable --wrap 'exit 3'); echo "rc=$?"
wait_done "$j"
sacct -P -n -j "$j" -o JobID,JobName,State,ExitCode,DerivedExitCode
squeue -h -j "$j" -t all -o '%i|%T|%r'
