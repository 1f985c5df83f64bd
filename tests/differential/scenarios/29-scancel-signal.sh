cat > t.sh <<'S'
#!/bin/bash
trap 'echo got USR1; exit 7' USR1
echo started
for i in $(seq 100); do sleep 0.1; done
S
j=$(sbatch --parsable t.sh)
wait_state "$j" RUNNING; wait_out slurm-$j.out
scancel -b -s USR1 "$j"; echo "rc=$?"
wait_done "$j"
cat slurm-$j.out
sacct -X -P -n -j "$j" -o JobID,State,ExitCode
