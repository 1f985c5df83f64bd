sbatch --test-only --wrap true 2>&1 | sed 's/ at .* using .* processors on nodes \(.*\) in partition \(.*\)$/ at TIME using N processors on nodes \1 in partition \2/'; echo "rc=${PIPESTATUS[0]}"
squeue -h -o %i | wc -l
