complete -c ccancel -s s -l signal -d 'Send this signal instead of cancelling: a name (USR1, SIGUSR1) or a number' -r
complete -c ccancel -s u -l user -d 'Only jobs of this user (name or uid)' -r
complete -c ccancel -s n -l name -l jobname -d 'Only jobs with this name (comma-separated names)' -r
complete -c ccancel -s t -l state -d 'Only jobs in this state (PENDING, RUNNING or SUSPENDED)' -r
complete -c ccancel -s p -l partition -d 'Only jobs in this partition (comma-separated)' -r
complete -c ccancel -s A -l account -d 'Only jobs charged to this account' -r
complete -c ccancel -s q -l qos -d 'Only jobs with this QOS' -r
complete -c ccancel -s w -l nodelist -d 'Only jobs running on these nodes (comma-separated)' -r
complete -c ccancel -s R -l reservation -d 'Only jobs in this reservation (there are no reservations: nothing matches)' -r
complete -c ccancel -l wckey -d 'Only jobs with this wckey' -r
complete -c ccancel -s M -l clusters -l cluster -d 'Clusters to act on (accepted; there is one)' -r
complete -c ccancel -l server -d 'Daemon to use: unix:/path, a socket path, http://host:port or https://host:port [env: CONDUCTOR_SERVER]' -r
complete -c ccancel -s b -l batch -d 'Signal only the batch shell, not the other processes of the job'
complete -c ccancel -s f -l full -d 'Signal every process of the job: the batch shell, its children and the steps'
complete -c ccancel -s i -l interactive -d 'Ask before each job (`Cancel job_id=... [y/n]? ` on stderr, answer on stdin)'
complete -c ccancel -l me -d 'Only my jobs'
complete -c ccancel -s Q -l quiet -d 'Do not report ids that are not active jobs (the exit status still does)'
complete -c ccancel -s v -l verbose -d 'Say what is done to each job, on stderr'
complete -c ccancel -s H -l hurry -d 'Skip burst buffer stage-out (accepted; there are no burst buffers)'
complete -c ccancel -l ctld -d 'Send the request through the controller (accepted; it always is)'
complete -c ccancel -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ccancel -s V -l version -d 'Print version'
