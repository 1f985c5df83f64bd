
use builtin;
use str;

set edit:completion:arg-completer[cdiag] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'cdiag'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'cdiag'= {
            cand -M 'Clusters (there is one; accepted)'
            cand --clusters 'Clusters (there is one; accepted)'
            cand --server 'Daemon to use: unix:/path, a socket path, http://host:port or https://host:port [env: CONDUCTOR_SERVER]'
            cand -a 'Show everything (the default; accepted)'
            cand --all 'Show everything (the default; accepted)'
            cand -r 'Start every count again from now (root, the daemon''s user or an operator)'
            cand --reset 'Start every count again from now (root, the daemon''s user or an operator)'
            cand -i 'Sort the request tables by message type or uid'
            cand --sort-by-id 'Sort the request tables by message type or uid'
            cand -t 'Sort the request tables by total time'
            cand --sort-by-time 'Sort the request tables by total time'
            cand -T 'Sort the request tables by average time'
            cand --sort-by-time2 'Sort the request tables by average time'
            cand --json 'Print the statistics as JSON'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
