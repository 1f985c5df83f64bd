a=$(sbatch --parsable --wrap 'true'); echo "rc=$?"
b=$(sbatch --parsable -d afternotok:$a --wrap true); echo "rc=$?"
wait_done "$a"
# Slurm evaluates dependencies in its scheduling pass: give it up to 10 s
for i in $(seq 50); do [[ $(squeue -h -j "$b" -o %r) == DependencyNeverSatisfied ]] && break; sleep 0.2; done
squeue -h -j "$b" -o '%i|%T|%r|%E'
