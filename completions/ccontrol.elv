
use builtin;
use str;

set edit:completion:arg-completer[ccontrol] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'ccontrol'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'ccontrol'= {
            cand --json 'show job/node: print Slurm''s JSON (data_parser v0.0.40); =v0.0.39 or =v0.0.41 picks another'
            cand --server 'Daemon to use: unix:/path, a socket path, http://host:port or https://host:port [env: CONDUCTOR_SERVER]'
            cand -o 'Print each record on one line'
            cand --oneliner 'Print each record on one line'
            cand -d 'Show more details (the exit code of the job''s steps, CPU ids)'
            cand --details 'Show more details (the exit code of the job''s steps, CPU ids)'
            cand -a 'Accepted for compatibility: everything is always shown'
            cand --all 'Accepted for compatibility: everything is always shown'
            cand -Q 'Accepted for compatibility: errors are still printed'
            cand --quiet 'Accepted for compatibility: errors are still printed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
