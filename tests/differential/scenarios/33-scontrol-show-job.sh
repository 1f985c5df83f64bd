j=$(sbatch --parsable -H -J showjob -t 3 --wrap 'true')
scontrol show job "$j" | sed -E 's/(Priority|Nice|Account|QOS)=[^ ]*/\1=X/g'; echo "rc=$?"
scontrol show job 99999; echo "rc=$?"
