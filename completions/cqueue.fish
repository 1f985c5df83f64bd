complete -c cqueue -s j -l jobs -d 'Only these jobs: ids or array tasks (12, 12_3), comma-separated' -r
complete -c cqueue -s u -l user -l users -d 'Only jobs of these users (comma-separated names or uids)' -r
complete -c cqueue -s n -l name -d 'Only jobs with these names (comma-separated)' -r
complete -c cqueue -s p -l partition -l partitions -d 'Only jobs in these partitions (comma-separated)' -r
complete -c cqueue -s A -l account -l accounts -d 'Only jobs charged to these accounts (comma-separated)' -r
complete -c cqueue -s q -l qos -d 'Only jobs with these QOS (comma-separated)' -r
complete -c cqueue -s w -l nodelist -l nodes -l node -d 'Only jobs running on these nodes (comma-separated)' -r
complete -c cqueue -s t -l states -l state -d 'Only jobs in these states (PD,R,CD,F,CA,TO,OOM,NF or long names), or `all`' -r
complete -c cqueue -s S -l sort -d 'Sort by these fields: letters of -o, `-` for descending (default P,t,-p)' -r
complete -c cqueue -s i -l iterate -d 'Print again every SECONDS, with the date before each header, until interrupted' -r
complete -c cqueue -s o -l format -d 'Output format (see FORMAT (-o) below)' -r
complete -c cqueue -s O -l Format -d 'Output format by field names (see FORMAT (-O) below)' -r
complete -c cqueue -l json -d 'Print Slurm\'s JSON (data_parser v0.0.40); =v0.0.39 or =v0.0.41 picks another, =conductor Conductor\'s own job array' -r
complete -c cqueue -l color -d 'With --pretty: colour the states when (auto: on a terminal without NO_COLOR)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set or TERM is dumb'
always\t'Always, even on a pipe or with NO_COLOR'
never\t'Never'"
complete -c cqueue -s M -l clusters -l cluster -d 'Clusters to ask (accepted; there is one)' -r
complete -c cqueue -l server -d 'Daemon to use: unix:/path, a socket path, http://host:port or https://host:port [env: CONDUCTOR_SERVER]' -r
complete -c cqueue -l me -d 'Only my jobs'
complete -c cqueue -s r -l array -d 'One line per array task, instead of one line for an array\'s pending tasks'
complete -c cqueue -s h -l noheader -d 'Do not print the header line (nor the date line)'
complete -c cqueue -s l -l long -d 'squeue\'s long layout (long state names, time limits), after a date line'
complete -c cqueue -l start -d 'Pending jobs and when they start (squeue --start)'
complete -c cqueue -l pretty -d 'A table for people: fitted to the terminal, states in colour (not Slurm\'s bytes)'
complete -c cqueue -s a -l all -d 'Also jobs of hidden partitions (there are none; accepted)'
complete -c cqueue -l only-job-state -d 'Only job ids and states, for a quick status query (Nextflow); default format "%.18i %.2t"'
complete -c cqueue -l help -d 'Print help'
complete -c cqueue -s V -l version -d 'Print version'
