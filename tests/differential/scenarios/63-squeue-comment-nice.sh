j=$(sbatch --parsable -H --comment='a note' --nice=10 -J cn --wrap true); echo "rc=$?"
squeue -h -j "$j" -o '%k|%y|%j'
