for t in 1 90 1:30 2-0 0:30 INFINITE; do
  j=$(sbatch --parsable -H -t $t --wrap true); echo "rc=$?"
  squeue -h -j "$j" -o "%l"
done
