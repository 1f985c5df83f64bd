j=$(sbatch --parsable -H --array=1-4 --wrap true)
scancel "${j}_2"; echo "rc=$?"
squeue -h -j "$j" -o '%i|%T'
scancel "${j}_[3-4]"; echo "rc=$?"
squeue -h -j "$j" -o '%i|%T'
squeue -h -r -j "$j" -o '%i|%T'
