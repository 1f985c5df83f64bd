complete -c cqueue -s j -l jobs -d 'Only these jobs (comma-separated ids)' -r
complete -c cqueue -s u -l user -d 'Only jobs of these users (comma-separated names or uids)' -r
complete -c cqueue -s t -l states -d 'Only jobs in these states (PD,R,CD,F,CA,TO or long names), or `all`' -r
complete -c cqueue -s o -l format -d 'Output format (see FORMAT below)' -r
complete -c cqueue -l server -d 'Daemon to use: unix:/path, a socket path, or http://host:port [env: CONDUCTOR_SERVER]' -r
complete -c cqueue -l me -d 'Only my jobs'
complete -c cqueue -s h -l noheader -d 'Do not print the header line'
complete -c cqueue -s l -l long -d 'squeue\'s long layout (long state names and time limits)'
complete -c cqueue -l json -d 'Print the jobs as a JSON array'
complete -c cqueue -l help -d 'Print help'
complete -c cqueue -s V -l version -d 'Print version'
