out=$(sbatch --wrap 'echo hello'); echo "rc=$?"; echo "$out"
j=$(jid <<<"$out"); wait_done "$j"
cat slurm-$j.out
sacct -X -P -n -j "$j" -o JobID,JobName,State,ExitCode; echo "rc=$?"
