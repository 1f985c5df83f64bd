j=$(sbatch --parsable -J envjob --wrap 'env | grep ^SLURM_ | sort')
wait_done "$j"
sed -E 's/^(SLURM_TASK_PID|SLURM_PRIO_PROCESS|SLURM_JOB_UID|SLURM_JOB_GID)=.*/\1=N/' slurm-$j.out
