complete -c cdiag -s M -l clusters -d 'Clusters (there is one; accepted)' -r
complete -c cdiag -l server -d 'Daemon to use: unix:/path, a socket path, http://host:port or https://host:port [env: CONDUCTOR_SERVER]' -r
complete -c cdiag -s a -l all -d 'Show everything (the default; accepted)'
complete -c cdiag -s r -l reset -d 'Start every count again from now (root, the daemon\'s user or an operator)'
complete -c cdiag -s i -l sort-by-id -d 'Sort the request tables by message type or uid'
complete -c cdiag -s t -l sort-by-time -d 'Sort the request tables by total time'
complete -c cdiag -s T -l sort-by-time2 -d 'Sort the request tables by average time'
complete -c cdiag -l json -d 'Print the statistics as JSON'
complete -c cdiag -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cdiag -s V -l version -d 'Print version'
