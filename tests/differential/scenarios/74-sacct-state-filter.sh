a=$(sbatch --parsable --wrap 'true'); b=$(sbatch --parsable --wrap 'exit 1')
wait_done "$a" "$b"
sacct -X -P -n -j "$a,$b" -s F -o JobID,State; echo "rc=$?"
sacct -X -P -n -j "$a,$b" -s CD -o JobID,State; echo "rc=$?"
sacct -X -P -n -j "$a,$b" -o JobID,State; echo "rc=$?"
