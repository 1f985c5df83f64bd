a=$(sbatch --parsable -H -J keep --wrap true)
timeout 5 scancel -s USR1 "$a"; echo "rc=$?"
squeue -h -j "$a" -o '%j|%T'
