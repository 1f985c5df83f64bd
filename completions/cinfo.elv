
use builtin;
use str;

set edit:completion:arg-completer[cinfo] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'cinfo'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'cinfo'= {
            cand -o 'Output format (see FORMAT below)'
            cand --format 'Output format (see FORMAT below)'
            cand -O 'Output by field names, e.g. partition,nodes:.6,statecompact (name[:[.]size])'
            cand --Format 'Output by field names, e.g. partition,nodes:.6,statecompact (name[:[.]size])'
            cand -p 'Only these partitions (comma-separated)'
            cand --partition 'Only these partitions (comma-separated)'
            cand -n 'Only these nodes (a hostlist: n[1-3,5],gpu01)'
            cand --nodes 'Only these nodes (a hostlist: n[1-3,5],gpu01)'
            cand -t 'Only nodes in these states (idle, mix, alloc, ...; comma-separated)'
            cand --states 'Only nodes in these states (idle, mix, alloc, ...; comma-separated)'
            cand --json 'Print Slurm''s JSON (data_parser v0.0.40); =v0.0.39 or =v0.0.41 picks another, =conductor the node as the API gives it'
            cand --color 'With --pretty: colour the states when (auto: on a terminal without NO_COLOR)'
            cand --server 'Daemon to use: unix:/path, a socket path, http://host:port or https://host:port [env: CONDUCTOR_SERVER]'
            cand -N 'One line per node rather than per partition'
            cand --Node 'One line per node rather than per partition'
            cand -h 'Do not print the header line'
            cand --noheader 'Do not print the header line'
            cand -l 'sinfo''s long layout, after a line with the date'
            cand --long 'sinfo''s long layout, after a line with the date'
            cand -s 'Summarize the partition: node counts as allocated/idle/other/total'
            cand --summarize 'Summarize the partition: node counts as allocated/idle/other/total'
            cand -e 'Group nodes only when their CPUs, memory and load agree too'
            cand --exact 'Group nodes only when their CPUs, memory and load agree too'
            cand -r 'Accepted for compatibility: the node always responds'
            cand --responding 'Accepted for compatibility: the node always responds'
            cand -a 'Accepted for compatibility: every partition is shown'
            cand --all 'Accepted for compatibility: every partition is shown'
            cand --pretty 'A table for people: fitted to the terminal, states in colour (not Slurm''s bytes)'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
