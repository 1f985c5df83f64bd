for n in bbb aaa ccc; do sbatch --parsable -H -J $n --wrap true >/dev/null; done
squeue -h -u "$(id -un)" -o '%j' -S j; echo "rc=$?"
squeue -h -u "$(id -un)" -o '%j' -S -j; echo "rc=$?"
squeue -h -u "$(id -un)" -o '%j' -S i; echo "rc=$?"
