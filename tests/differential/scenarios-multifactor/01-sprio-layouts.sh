# sprio's layouts over pending jobs in three partitions, one holding the node (both CPUs).
# timeout: 120
warm_usage >/dev/null
b=$(sbatch --parsable -c 2 -o /dev/null --wrap 'sleep 60'); wait_state "$b" RUNNING
j1=$(sbatch --parsable -o /dev/null --wrap true)
j2=$(sbatch --parsable -o /dev/null -p short -t 5 --wrap true)
j3=$(sbatch --parsable -o /dev/null -p high -c 2 --wrap true)
j4=$(sbatch --parsable -o /dev/null --nice=100 --wrap true)
wait_looked "$j1" "$j2" "$j3" "$j4"
sprio; echo "rc=$?"
sprio -l; echo "rc=$?"
sprio -w; echo "rc=$?"
sprio -l -w; echo "rc=$?"
sprio -n -w; echo "rc=$?"
sprio -n | mask_age; echo "rc=$?"
sprio -n -l | mask_age; echo "rc=$?"
sprio -o "%i %u %Y %A %F %J %P %Q %N"; echo "rc=$?"
sprio -o "%.8i|%10r|%S|%q|%b|%T|%t|%j|%p|%f"; echo "rc=$?"
sprio -h; echo "rc=$?"
sprio -j "$j2"; echo "rc=$?"
sprio -j "$j1,$j3" -o '%i %Y'; echo "rc=$?"
sprio -u "$(id -un)"; echo "rc=$?"
sprio -p high,short -h; echo "rc=$?"
sprio -p nosuch; echo "rc=$?"
