scontrol show partition | grep -oE '(PartitionName|AllowGroups|Default|MaxTime|State|TotalCPUs|TotalNodes|Nodes)=[^ ]*' ; echo "rc=$?"
scontrol show node | grep -oE '(NodeName|CPUAlloc|CPUTot|State|Partitions)=[^ ]*'; echo "rc=$?"
scontrol show partition nosuch; echo "rc=$?"
scontrol show node nosuch; echo "rc=$?"
