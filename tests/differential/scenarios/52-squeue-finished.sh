j=$(sbatch --parsable --wrap true); wait_done "$j"
squeue -h -j "$j" -o '%i|%t|%T|%r'; echo "rc=$?"
squeue -h -j "$j" -t CD -o '%T'; echo "rc=$?"
squeue -h -u "$(id -un)" -o '%i' | grep -c "$j"
