mkdir sub
j=$(sbatch --parsable -D sub --wrap 'pwd'); echo "rc=$?"
wait_done "$j"
cat sub/slurm-$j.out
sbatch -D /nonexistent/dir --wrap true; echo "rc=$?"
