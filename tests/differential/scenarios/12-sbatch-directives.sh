cat > job.sh <<'S'
#!/bin/bash
#SBATCH -J directive_name
#SBATCH -t 5
#SBATCH -c 1
#SBATCH -o out_%j.txt
echo "name=$SLURM_JOB_NAME cpus=$SLURM_CPUS_PER_TASK"
S
j=$(sbatch --parsable job.sh); echo "rc=$?"
# -t all: the job may have ended by now on either side (squeue -j hides an ended job, as Slurm does)
squeue -h -j "$j" -t all -o '%j|%l|%C'
wait_done "$j"
cat "out_$j.txt"
