# timeout: 150
# scancel retries a job in transition for 95 s (ten tries, 5 to 14 s apart) before it gives up
a=$(sbatch --parsable -H -J keep --wrap true)
timeout 120 scancel -s USR1 "$a"; echo "rc=$?"
squeue -h -j "$a" -o '%j|%T'
