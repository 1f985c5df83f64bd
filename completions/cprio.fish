complete -c cprio -s j -l jobs -d 'Only these jobs (comma-separated ids)' -r
complete -c cprio -s o -l format -d 'Output format (see FORMAT below)' -r
complete -c cprio -s p -l partition -d 'Only jobs in these partitions (comma-separated)' -r
complete -c cprio -s u -l user -d 'Only the jobs of these users (comma-separated names)' -r
complete -c cprio -s M -l clusters -d 'Clusters (there is one; accepted)' -r
complete -c cprio -l server -d 'Daemon to use: unix:/path, a socket path, http://host:port or https://host:port [env: CONDUCTOR_SERVER]' -r
complete -c cprio -s h -l noheader -d 'Do not print the header'
complete -c cprio -s l -l long -d 'Show every factor, with the user and nice'
complete -c cprio -s n -l norm -d 'Show the factors normalized (0 to 1) rather than weighted'
complete -c cprio -s w -l weights -d 'Print the configured weight of each factor'
complete -c cprio -l help -d 'Print help'
complete -c cprio -s V -l version -d 'Print version'
