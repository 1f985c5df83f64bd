j=$(sbatch --parsable -n 2 -c 1 --wrap 'env | grep -E "^SLURM_(NTASKS|NPROCS|TASKS_PER_NODE|CPUS_ON_NODE|JOB_CPUS_PER_NODE|CPUS_PER_TASK)=" | sort')
wait_done "$j"
cat slurm-$j.out
