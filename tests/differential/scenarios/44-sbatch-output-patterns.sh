j=$(sbatch --parsable -J pat -o 'o_%x_%j.txt' -e 'e_%j.txt' --wrap 'echo out; echo err >&2')
wait_done "$j"
ls | sort | sed "s/$j/ID/"
cat o_pat_$j.txt e_$j.txt
