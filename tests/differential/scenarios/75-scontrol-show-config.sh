scontrol show config | grep -E '^(ClusterName|FirstJobId|KillWait|MaxArraySize|MinJobAge|SelectType) ' | sed 's/  */ /g'; echo "rc=${PIPESTATUS[0]}"
scontrol ping | sed 's/(.*)/(X)/'; echo "rc=${PIPESTATUS[0]}"
