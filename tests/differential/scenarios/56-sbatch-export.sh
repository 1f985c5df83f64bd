export DIFFVAR=visible
j1=$(sbatch --parsable --wrap 'echo "v=${DIFFVAR:-unset}"')
j2=$(sbatch --parsable --export=NONE --wrap 'echo "v=${DIFFVAR:-unset}"')
j3=$(sbatch --parsable --export=DIFFVAR=changed --wrap 'echo "v=${DIFFVAR:-unset}"')
wait_done "$j1" "$j2" "$j3"
cat slurm-$j1.out slurm-$j2.out slurm-$j3.out
