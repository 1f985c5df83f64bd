scancel 99999; echo "rc=$?"
scancel abc; echo "rc=$?"
scancel; echo "rc=$?"
j=$(sbatch --parsable -H -J tocancel --wrap true)
scancel -n tocancel; echo "rc=$?"
wait_done "$j"
squeue -h -j "$j" -t all -o '%i|%T|%r'
sacct -X -P -n -j "$j" -o JobID,State,ExitCode
