out=$(sbatch --parsable --wrap true); echo "rc=$?"
echo "$out" | sed 's/^[0-9]*/ID/'
wait_done "$out"
