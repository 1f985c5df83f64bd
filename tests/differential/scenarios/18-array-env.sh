j=$(sbatch --parsable --array=2-4:2 --wrap 'echo "$SLURM_ARRAY_JOB_ID $SLURM_ARRAY_TASK_ID $SLURM_ARRAY_TASK_COUNT $SLURM_ARRAY_TASK_MIN $SLURM_ARRAY_TASK_MAX $SLURM_ARRAY_TASK_STEP"'); echo "rc=$?"
wait_done "$j"
ls slurm-*.out | sed "s/$j/ID/"
cat slurm-${j}_2.out slurm-${j}_4.out | sed "s/^$j /ID /"
# slurmdbd learns of each task's end a moment after the task is gone: wait for both records.
for _ in $(seq 50); do
  [[ $(sacct -X -P -n -j "$j" -o JobID,State 2>/dev/null | grep -c COMPLETED) -eq 2 ]] && break; sleep 0.2
done
sacct -X -P -n -j "$j" -o JobID,State | sed "s/^$j/ID/"
