j=$(sbatch --parsable -n 2 --wrap 'srun -l hostname | sort; srun -n 1 bash -c "echo \$SLURM_PROCID \$SLURM_STEP_ID"; srun false; echo "srun rc=$?"')
wait_done "$j"
cat slurm-$j.out
