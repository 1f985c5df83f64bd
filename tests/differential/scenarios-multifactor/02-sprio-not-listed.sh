# Which pending jobs sprio leaves out (held, begin time to come, dependency) and their
# priority in squeue; an administrator's priority; sprio's errors.
# timeout: 120
warm_usage >/dev/null
b=$(sbatch --parsable -c 2 -o /dev/null --wrap 'sleep 60'); wait_state "$b" RUNNING
j1=$(sbatch --parsable -o /dev/null --wrap true)
h=$(sbatch --parsable -o /dev/null -H --wrap true)
l=$(sbatch --parsable -o /dev/null --begin=now+3600 --wrap true)
d=$(sbatch --parsable -o /dev/null -d "afterok:$b" --wrap true)
j2=$(sbatch --parsable -o /dev/null -p high --wrap true)
wait_looked "$j1" "$l" "$d" "$j2"
sprio -o '%i %Y'; echo "rc=$?"
sprio -j "$h"; echo "rc=$?"
sprio -j "$l,$d"; echo "rc=$?"
squeue -h -S i -j "$j1,$h,$l,$d,$j2" -o '%i %Q %p'; echo "rc=$?"
scontrol show job "$h" | grep -oE 'Priority=[0-9]+'
scontrol update jobid="$j1" priority=5000; echo "rc=$?"
sprio -o '%i %Y'; echo "rc=$?"
sprio -j "$j1" -o '%i %Y %y %A %a %F %f %J %P %N %S'; echo "rc=$?"
squeue -h -j "$j1" -o '%i %Q'; echo "rc=$?"
sprio -j abc; echo "rc=$?"
sprio -o '%i %z|%Y'; echo "rc=$?"
sprio -h -u no_such_user_x; echo "rc=$?"
