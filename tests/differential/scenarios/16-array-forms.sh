for a in 0-3 1,3,5 1-7:2 0-5%2; do
  j=$(sbatch --parsable -H --array=$a --wrap true); echo "rc=$?"
  squeue -h -j "$j" -o '%i|%T|%r'
  scancel "$j"
done
sbatch --array=abc --wrap true; echo "rc=$?"
sbatch --array=5-1 --wrap true; echo "rc=$?"
