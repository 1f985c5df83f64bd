srun echo hi; echo "rc=$?"
srun -n 2 -l echo hi | sort; echo "rc=${PIPESTATUS[0]}"
srun false; echo "rc=$?"
