j=$(sbatch --parsable -H -t 5 -J before --wrap true)
scontrol update JobId=$j TimeLimit=10 JobName=after; echo "rc=$?"
squeue -h -j "$j" -o '%j|%l'
scontrol update JobId=$j NoSuchKey=1; echo "rc=$?"
scontrol update JobId=99999 TimeLimit=1; echo "rc=$?"
