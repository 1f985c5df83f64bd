
use builtin;
use str;

set edit:completion:arg-completer[cprio] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'cprio'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'cprio'= {
            cand -j 'Only these jobs (comma-separated ids)'
            cand --jobs 'Only these jobs (comma-separated ids)'
            cand -o 'Output format (see FORMAT below)'
            cand --format 'Output format (see FORMAT below)'
            cand -p 'Only jobs in these partitions (comma-separated)'
            cand --partition 'Only jobs in these partitions (comma-separated)'
            cand -u 'Only the jobs of these users (comma-separated names)'
            cand --user 'Only the jobs of these users (comma-separated names)'
            cand -M 'Clusters (there is one; accepted)'
            cand --clusters 'Clusters (there is one; accepted)'
            cand --server 'Daemon to use: unix:/path, a socket path, http://host:port or https://host:port [env: CONDUCTOR_SERVER]'
            cand -h 'Do not print the header'
            cand --noheader 'Do not print the header'
            cand -l 'Show every factor, with the user and nice'
            cand --long 'Show every factor, with the user and nice'
            cand -n 'Show the factors normalized (0 to 1) rather than weighted'
            cand --norm 'Show the factors normalized (0 to 1) rather than weighted'
            cand -w 'Print the configured weight of each factor'
            cand --weights 'Print the configured weight of each factor'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
