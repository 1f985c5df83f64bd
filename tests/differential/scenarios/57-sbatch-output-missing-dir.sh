j=$(sbatch --parsable -o nodir/out.txt --wrap 'echo hi'); echo "rc=$?"
wait_done "$j"
ls -R | sed "s/$j/ID/"
sacct -X -P -n -j "$j" -o State,ExitCode
