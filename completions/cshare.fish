complete -c cshare -s A -l accounts -d 'Accounts to show (there is one, root; accepted)' -r
complete -c cshare -s M -l clusters -d 'Clusters (there is one; accepted)' -r
complete -c cshare -s o -l format -d 'Fields to show (see FIELDS below)' -r
complete -c cshare -s u -l users -d 'Only these users (comma-separated names; -1 is every user)' -r
complete -c cshare -l server -d 'Daemon to use: unix:/path, a socket path, http://host:port or https://host:port [env: CONDUCTOR_SERVER]' -r
complete -c cshare -s a -l all -d 'Show every user'
complete -c cshare -s l -l long -d 'Show the long layout (NormUsage and the TRES columns too)'
complete -c cshare -s n -l noheader -d 'Do not print the header'
complete -c cshare -s p -l parsable -d 'Parsable: fields separated by \'|\', one at the end of each line too'
complete -c cshare -s P -l parsable2 -d 'Parsable: fields separated by \'|\', none at the end'
complete -c cshare -s U -l Users -d 'Show the users\' lines only, not the account\'s'
complete -c cshare -l help -d 'Print help'
complete -c cshare -s V -l version -d 'Print version'
