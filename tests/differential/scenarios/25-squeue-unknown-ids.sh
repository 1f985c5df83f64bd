squeue -j 99999; echo "rc=$?"
squeue -j 99998,99999; echo "rc=$?"
squeue -j abc; echo "rc=$?"
