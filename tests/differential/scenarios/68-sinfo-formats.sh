sinfo -h -o '%R|%a|%F|%c|%z'; echo "rc=$?"
sinfo -O 'Partition,Available,CPUs,Nodes' ; echo "rc=$?"
sinfo -p nosuch; echo "rc=$?"
sinfo -h -N -o '%N %T %C'; echo "rc=$?"
