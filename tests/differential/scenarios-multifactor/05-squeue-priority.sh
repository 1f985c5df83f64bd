# squeue's %Q and %p under multifactor, the running job's too.
# timeout: 120
warm_usage >/dev/null
b=$(sbatch --parsable -c 2 -o /dev/null --wrap 'sleep 60'); wait_state "$b" RUNNING
j1=$(sbatch --parsable -o /dev/null --wrap true)
j2=$(sbatch --parsable -o /dev/null -p high -c 2 --wrap true)
wait_looked "$j1" "$j2"
squeue -h -S i -j "$b,$j1,$j2" -o '%i %t %Q %p'; echo "rc=$?"
scontrol show job "$b" | grep -oE 'Priority=[0-9]+'
