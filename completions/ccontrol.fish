complete -c ccontrol -l json -d 'show job/node: print Slurm\'s JSON (data_parser v0.0.40); =v0.0.39 or =v0.0.41 picks another' -r
complete -c ccontrol -l server -d 'Daemon to use: unix:/path, a socket path, http://host:port or https://host:port [env: CONDUCTOR_SERVER]' -r
complete -c ccontrol -s o -l oneliner -d 'Print each record on one line'
complete -c ccontrol -s d -l details -d 'Show more details (the exit code of the job\'s steps, CPU ids)'
complete -c ccontrol -s a -l all -d 'Accepted for compatibility: everything is always shown'
complete -c ccontrol -s Q -l quiet -d 'Accepted for compatibility: errors are still printed'
complete -c ccontrol -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ccontrol -s V -l version -d 'Print version'
