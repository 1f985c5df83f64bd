j=$(sbatch --parsable --begin=now+120 --wrap true)
scancel "$j"; echo "rc=$?"
wait_done "$j"
squeue -h -j "$j" -t all -o '%T|%r'
sacct -X -P -n -j "$j" -o JobID,State,ExitCode,AllocCPUS,NodeList
