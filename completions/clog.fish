complete -c clog -l server -d 'Daemon to use: unix:/path, a socket path, http://host:port or https://host:port [env: CONDUCTOR_SERVER]' -r
complete -c clog -s f -l follow -d 'Keep writing what the job writes until it ends (like tail -f)'
complete -c clog -s e -l stderr -d 'Show the job\'s stderr file instead of its stdout'
complete -c clog -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clog -s V -l version -d 'Print version'
