a=$(sbatch --parsable --wrap 'sleep 2'); echo "rc=$?"
b=$(sbatch --parsable -d afterok:$a --wrap true); echo "rc=$?"
squeue -h -j "$b" -o '%i|%T|%r|%E'
sbatch -d bogus:1 --wrap true; echo "rc=$?"
sbatch -d afterok:$a,afterany:$a --parsable --wrap true >/dev/null; echo "rc=$?"
wait_done "$a" "$b"
sacct -X -P -n -j "$a,$b" -o JobID,State
