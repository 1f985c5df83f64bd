h=$(sbatch --parsable -H --wrap true)
b=$(sbatch --parsable -c 2 --wrap 'sleep 15'); wait_state "$b" RUNNING
p=$(sbatch --parsable -c 1 --wrap true)
# Slurm's accounting learns of a pending job some seconds after it is submitted (the
# controller's agent sends it), and its reason is None until the scheduler has looked:
# wait for both, so that what is compared is the steady state, not the race.
for i in $(seq 75); do
  [[ $(sacct -X -n -P -j "$h,$p" -o JobID 2>/dev/null | wc -l) -eq 2 ]] \
    && [[ $(squeue -h -j "$p" -o %r) != None ]] && break
  sleep 0.2
done
echo held:; sacct -X -P -n -j "$h" -o JobID,State,ExitCode,AllocCPUS,NodeList,Start,End,Elapsed
echo waiting:; sacct -X -P -n -j "$p" -o JobID,State,ExitCode,AllocCPUS,NodeList,Start,End,Elapsed
squeue -h -j "$p" -o '%T|%r'
