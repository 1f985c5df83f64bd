j=$(sbatch --parsable -H -J longjob --wrap true)
squeue -l -j "$j"; echo "rc=$?"
squeue -h -j "$j"; echo "rc=$?"
squeue -j "$j"; echo "rc=$?"
