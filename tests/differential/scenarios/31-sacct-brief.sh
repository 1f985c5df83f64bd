j=$(sbatch --parsable --wrap 'exit 2')
wait_done "$j"
sacct -b -j "$j"; echo "rc=$?"
sacct -b -P -n -j "$j"; echo "rc=$?"
