complete -c cinfo -s o -l format -d 'Output format (see FORMAT below)' -r
complete -c cinfo -s O -l Format -d 'Output by field names, e.g. partition,nodes:.6,statecompact (name[:[.]size])' -r
complete -c cinfo -s p -l partition -d 'Only these partitions (comma-separated)' -r
complete -c cinfo -s n -l nodes -d 'Only these nodes (a hostlist: n[1-3,5],gpu01)' -r
complete -c cinfo -s t -l states -d 'Only nodes in these states (idle, mix, alloc, ...; comma-separated)' -r
complete -c cinfo -l json -d 'Print Slurm\'s JSON (data_parser v0.0.40); =v0.0.39 or =v0.0.41 picks another, =conductor the node as the API gives it' -r
complete -c cinfo -l color -d 'With --pretty: colour the states when (auto: on a terminal without NO_COLOR)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set or TERM is dumb'
always\t'Always, even on a pipe or with NO_COLOR'
never\t'Never'"
complete -c cinfo -l server -d 'Daemon to use: unix:/path, a socket path, http://host:port or https://host:port [env: CONDUCTOR_SERVER]' -r
complete -c cinfo -s N -l Node -d 'One line per node rather than per partition'
complete -c cinfo -s h -l noheader -d 'Do not print the header line'
complete -c cinfo -s l -l long -d 'sinfo\'s long layout, after a line with the date'
complete -c cinfo -s s -l summarize -d 'Summarize the partition: node counts as allocated/idle/other/total'
complete -c cinfo -s e -l exact -d 'Group nodes only when their CPUs, memory and load agree too'
complete -c cinfo -s r -l responding -d 'Accepted for compatibility: the node always responds'
complete -c cinfo -s a -l all -d 'Accepted for compatibility: every partition is shown'
complete -c cinfo -l pretty -d 'A table for people: fitted to the terminal, states in colour (not Slurm\'s bytes)'
complete -c cinfo -l help -d 'Print help'
complete -c cinfo -s V -l version -d 'Print version'
