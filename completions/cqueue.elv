
use builtin;
use str;

set edit:completion:arg-completer[cqueue] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'cqueue'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'cqueue'= {
            cand -j 'Only these jobs: ids or array tasks (12, 12_3), comma-separated'
            cand --jobs 'Only these jobs: ids or array tasks (12, 12_3), comma-separated'
            cand -u 'Only jobs of these users (comma-separated names or uids)'
            cand --user 'Only jobs of these users (comma-separated names or uids)'
            cand --users 'Only jobs of these users (comma-separated names or uids)'
            cand -n 'Only jobs with these names (comma-separated)'
            cand --name 'Only jobs with these names (comma-separated)'
            cand -p 'Only jobs in these partitions (comma-separated)'
            cand --partition 'Only jobs in these partitions (comma-separated)'
            cand --partitions 'Only jobs in these partitions (comma-separated)'
            cand -A 'Only jobs charged to these accounts (comma-separated)'
            cand --account 'Only jobs charged to these accounts (comma-separated)'
            cand --accounts 'Only jobs charged to these accounts (comma-separated)'
            cand -q 'Only jobs with these QOS (comma-separated)'
            cand --qos 'Only jobs with these QOS (comma-separated)'
            cand -w 'Only jobs running on these nodes (comma-separated)'
            cand --nodelist 'Only jobs running on these nodes (comma-separated)'
            cand --nodes 'Only jobs running on these nodes (comma-separated)'
            cand --node 'Only jobs running on these nodes (comma-separated)'
            cand -t 'Only jobs in these states (PD,R,CD,F,CA,TO,OOM,NF or long names), or `all`'
            cand --states 'Only jobs in these states (PD,R,CD,F,CA,TO,OOM,NF or long names), or `all`'
            cand --state 'Only jobs in these states (PD,R,CD,F,CA,TO,OOM,NF or long names), or `all`'
            cand -S 'Sort by these fields: letters of -o, `-` for descending (default P,t,-p)'
            cand --sort 'Sort by these fields: letters of -o, `-` for descending (default P,t,-p)'
            cand -i 'Print again every SECONDS, with the date before each header, until interrupted'
            cand --iterate 'Print again every SECONDS, with the date before each header, until interrupted'
            cand -o 'Output format (see FORMAT (-o) below)'
            cand --format 'Output format (see FORMAT (-o) below)'
            cand -O 'Output format by field names (see FORMAT (-O) below)'
            cand --Format 'Output format by field names (see FORMAT (-O) below)'
            cand --json 'Print Slurm''s JSON (data_parser v0.0.40); =v0.0.39 or =v0.0.41 picks another, =conductor Conductor''s own job array'
            cand --color 'With --pretty: colour the states when (auto: on a terminal without NO_COLOR)'
            cand -M 'Clusters to ask (accepted; there is one)'
            cand --clusters 'Clusters to ask (accepted; there is one)'
            cand --cluster 'Clusters to ask (accepted; there is one)'
            cand --server 'Daemon to use: unix:/path, a socket path, http://host:port or https://host:port [env: CONDUCTOR_SERVER]'
            cand --me 'Only my jobs'
            cand -r 'One line per array task, instead of one line for an array''s pending tasks'
            cand --array 'One line per array task, instead of one line for an array''s pending tasks'
            cand -h 'Do not print the header line (nor the date line)'
            cand --noheader 'Do not print the header line (nor the date line)'
            cand -l 'squeue''s long layout (long state names, time limits), after a date line'
            cand --long 'squeue''s long layout (long state names, time limits), after a date line'
            cand --start 'Pending jobs and when they start (squeue --start)'
            cand --pretty 'A table for people: fitted to the terminal, states in colour (not Slurm''s bytes)'
            cand -a 'Also jobs of hidden partitions (there are none; accepted)'
            cand --all 'Also jobs of hidden partitions (there are none; accepted)'
            cand --only-job-state 'Only job ids and states, for a quick status query (Nextflow); default format "%.18i %.2t"'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
