
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
            cand -j 'Only these jobs (comma-separated ids)'
            cand --jobs 'Only these jobs (comma-separated ids)'
            cand -u 'Only jobs of these users (comma-separated names or uids)'
            cand --user 'Only jobs of these users (comma-separated names or uids)'
            cand -t 'Only jobs in these states (PD,R,CD,F,CA,TO or long names), or `all`'
            cand --states 'Only jobs in these states (PD,R,CD,F,CA,TO or long names), or `all`'
            cand -o 'Output format (see FORMAT below)'
            cand --format 'Output format (see FORMAT below)'
            cand --server 'Daemon to use: unix:/path, a socket path, or http://host:port [env: CONDUCTOR_SERVER]'
            cand --me 'Only my jobs'
            cand -h 'Do not print the header line'
            cand --noheader 'Do not print the header line'
            cand -l 'squeue''s long layout (long state names and time limits)'
            cand --long 'squeue''s long layout (long state names and time limits)'
            cand --json 'Print the jobs as a JSON array'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
