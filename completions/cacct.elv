
use builtin;
use str;

set edit:completion:arg-completer[cacct] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'cacct'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'cacct'= {
            cand -j 'Only these jobs: ID, ID_INDEX (array task) or ID.STEP (comma-separated, repeatable)'
            cand --jobs 'Only these jobs: ID, ID_INDEX (array task) or ID.STEP (comma-separated, repeatable)'
            cand --name 'Only jobs with these names (comma-separated)'
            cand -u 'Only jobs of these users (names or uids, comma-separated); default: you'
            cand --user 'Only jobs of these users (names or uids, comma-separated); default: you'
            cand --uid 'Only jobs of these users (names or uids, comma-separated); default: you'
            cand -s 'Only jobs in these states (long or compact names, comma-separated)'
            cand --state 'Only jobs in these states (long or compact names, comma-separated)'
            cand -S 'Only jobs active at or after this time (default: midnight; all time with -j)'
            cand --starttime 'Only jobs active at or after this time (default: midnight; all time with -j)'
            cand -E 'Only jobs active at or before this time (default: now)'
            cand --endtime 'Only jobs active at or before this time (default: now)'
            cand --delimiter 'The separator of -p and -P instead of `|`'
            cand -o 'Fields to print (see FIELDS below; repeatable)'
            cand --format 'Fields to print (see FIELDS below; repeatable)'
            cand --json 'Print Slurm''s JSON (data_parser v0.0.40); =v0.0.39 or =v0.0.41 picks another, =conductor Conductor''s own {"jobs": [...]}'
            cand --color 'With --pretty: colour the states when (auto: on a terminal without NO_COLOR)'
            cand -M 'Clusters to ask (accepted; there is one, this node)'
            cand --clusters 'Clusters to ask (accepted; there is one, this node)'
            cand -r 'Only jobs of these partitions (comma-separated)'
            cand --partition 'Only jobs of these partitions (comma-separated)'
            cand --units 'Show sizes in this unit: K, M, G, T or P'
            cand --server 'Daemon to use: unix:/path, a socket path, http://host:port or https://host:port [env: CONDUCTOR_SERVER]'
            cand -a 'Jobs of every user'
            cand --allusers 'Jobs of every user'
            cand -X 'Only the job lines, no steps'
            cand --allocations 'Only the job lines, no steps'
            cand -P 'Fields separated by `|`, none at the end of a line'
            cand --parsable2 'Fields separated by `|`, none at the end of a line'
            cand -p 'Fields separated by `|`, one at the end of each line too'
            cand --parsable 'Fields separated by `|`, one at the end of each line too'
            cand -n 'Do not print the header'
            cand --noheader 'Do not print the header'
            cand -b 'Print JobID, State and ExitCode'
            cand --brief 'Print JobID, State and ExitCode'
            cand -l 'Print the long list of fields'
            cand --long 'Print the long list of fields'
            cand -e 'List the fields -o accepts'
            cand --helpformat 'List the fields -o accepts'
            cand --pretty 'A table for people: fitted to the terminal, states in colour (not Slurm''s bytes)'
            cand -L 'Every cluster (accepted; there is one, this node)'
            cand --allclusters 'Every cluster (accepted; there is one, this node)'
            cand --array 'One line per array task, also for tasks not started yet'
            cand --noconvert 'Show sizes in their raw unit (KiB, MiB)'
            cand -T 'Clip Start and End to the -S/-E window'
            cand --truncate 'Clip Start and End to the -S/-E window'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
