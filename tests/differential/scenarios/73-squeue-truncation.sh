j=$(sbatch --parsable -H -J a_very_long_job_name_indeed --wrap true)
squeue -j "$j"; echo "rc=$?"
squeue -h -j "$j" -o '%.5j|%5j|%j'; echo "rc=$?"
squeue -j "$j" -O 'Name:6,JobID:.8'; echo "rc=$?"
