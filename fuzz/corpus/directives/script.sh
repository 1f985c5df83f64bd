#!/bin/bash
#SBATCH --job-name=train
#SBATCH -t 1-2:30:15 --mem=4G
#SBATCH --output=slurm-%j.out -e "err %x.log" # a comment
#SBATCH --array=0-9%2
#SBATCH --dependency=afterok:1:2
#SBATCH --begin=now+1hour
#SBATCH -c 4 -n 2 --nice=10 --signal=B:USR1@60

echo hello
