sbatch --wait --wrap 'exit 4' | sed 's/[0-9]*$/ID/'; echo "rc=${PIPESTATUS[0]}"
sbatch --wait --wrap 'true' | sed 's/[0-9]*$/ID/'; echo "rc=${PIPESTATUS[0]}"
