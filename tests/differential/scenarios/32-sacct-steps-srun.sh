j=$(sbatch --parsable --wrap 'srun true; srun -n 1 echo step')
wait_done "$j"
sleep 1
sacct -P -n -j "$j" -o JobID,JobName,State,ExitCode; echo "rc=$?"
cat slurm-$j.out
