j=$(sbatch --parsable -H -J ofmt --wrap true)
squeue -j "$j" -O JobID,Name,State,Reason; echo "rc=$?"
squeue -j "$j" -O 'JobID:.12,Name:5,State:12,TimeLimit,NumCPUs,Partition'; echo "rc=$?"
squeue -j "$j" -O NoSuchField; echo "rc=$?"
