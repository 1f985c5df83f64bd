complete -c cacct -s j -l jobs -d 'Only these jobs: ID, ID_INDEX (array task) or ID.STEP (comma-separated, repeatable)' -r
complete -c cacct -l name -d 'Only jobs with these names (comma-separated)' -r
complete -c cacct -s u -l user -l uid -d 'Only jobs of these users (names or uids, comma-separated); default: you' -r
complete -c cacct -s s -l state -d 'Only jobs in these states (long or compact names, comma-separated)' -r
complete -c cacct -s S -l starttime -d 'Only jobs active at or after this time (default: midnight; all time with -j)' -r
complete -c cacct -s E -l endtime -d 'Only jobs active at or before this time (default: now)' -r
complete -c cacct -l delimiter -d 'The separator of -p and -P instead of `|`' -r
complete -c cacct -s o -l format -d 'Fields to print (see FIELDS below; repeatable)' -r
complete -c cacct -l json -d 'Print Slurm\'s JSON (data_parser v0.0.40); =v0.0.39 or =v0.0.41 picks another, =conductor Conductor\'s own {"jobs": [...]}' -r
complete -c cacct -l color -d 'With --pretty: colour the states when (auto: on a terminal without NO_COLOR)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set or TERM is dumb'
always\t'Always, even on a pipe or with NO_COLOR'
never\t'Never'"
complete -c cacct -s M -l clusters -d 'Clusters to ask (accepted; there is one, this node)' -r
complete -c cacct -s r -l partition -d 'Only jobs of these partitions (comma-separated)' -r
complete -c cacct -l units -d 'Show sizes in this unit: K, M, G, T or P' -r
complete -c cacct -l server -d 'Daemon to use: unix:/path, a socket path, http://host:port or https://host:port [env: CONDUCTOR_SERVER]' -r
complete -c cacct -s a -l allusers -d 'Jobs of every user'
complete -c cacct -s X -l allocations -d 'Only the job lines, no steps'
complete -c cacct -s P -l parsable2 -d 'Fields separated by `|`, none at the end of a line'
complete -c cacct -s p -l parsable -d 'Fields separated by `|`, one at the end of each line too'
complete -c cacct -s n -l noheader -d 'Do not print the header'
complete -c cacct -s b -l brief -d 'Print JobID, State and ExitCode'
complete -c cacct -s l -l long -d 'Print the long list of fields'
complete -c cacct -s e -l helpformat -d 'List the fields -o accepts'
complete -c cacct -l pretty -d 'A table for people: fitted to the terminal, states in colour (not Slurm\'s bytes)'
complete -c cacct -s L -l allclusters -d 'Every cluster (accepted; there is one, this node)'
complete -c cacct -l array -d 'One line per array task, also for tasks not started yet'
complete -c cacct -l noconvert -d 'Show sizes in their raw unit (KiB, MiB)'
complete -c cacct -s T -l truncate -d 'Clip Start and End to the -S/-E window'
complete -c cacct -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cacct -s V -l version -d 'Print version'
