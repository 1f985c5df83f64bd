sbatch -p nosuch --wrap true; echo "rc=$?"
j=$(sbatch --parsable -H -p "$(sinfo -h -o %P | tr -d '*')" --wrap true); echo "rc=$?"
squeue -h -j "$j" -o %P
