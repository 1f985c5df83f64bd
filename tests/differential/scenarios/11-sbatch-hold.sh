j=$(sbatch -H --parsable --wrap true); echo "rc=$?"
squeue -h -j "$j" -o '%i|%T|%r|%p'
scontrol release "$j"; echo "rc=$?"
wait_done "$j"
sacct -X -P -n -j "$j" -o JobID,State,ExitCode
