a=$(sbatch --parsable -H -J keep --wrap true)
b=$(sbatch --parsable -H -J drop --wrap true)
scancel -t PENDING -n drop; echo "rc=$?"
sleep 0.5
squeue -h -u "$(id -un)" -o '%j|%T'
scancel -u no_such_user; echo "rc=$?"
