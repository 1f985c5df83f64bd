complete -c ccancel -l server -d 'Daemon to use: unix:/path, a socket path, or http://host:port [env: CONDUCTOR_SERVER]' -r
complete -c ccancel -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ccancel -s V -l version -d 'Print version'
