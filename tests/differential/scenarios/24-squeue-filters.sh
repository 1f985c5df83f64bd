j=$(sbatch --parsable -H -J filt --wrap true)
squeue -h -t PD -o %i | grep -c "$j"
squeue -h -t R -o %i | grep -c "$j"
squeue -h -t bogus; echo "rc=$?"
squeue -u no_such_user; echo "rc=$?"
squeue -h -n filt -o %j; echo "rc=$?"
