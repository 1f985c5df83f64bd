
use builtin;
use str;

set edit:completion:arg-completer[cshare] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'cshare'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'cshare'= {
            cand -A 'Accounts to show (there is one, root; accepted)'
            cand --accounts 'Accounts to show (there is one, root; accepted)'
            cand -M 'Clusters (there is one; accepted)'
            cand --clusters 'Clusters (there is one; accepted)'
            cand -o 'Fields to show (see FIELDS below)'
            cand --format 'Fields to show (see FIELDS below)'
            cand -u 'Only these users (comma-separated names; -1 is every user)'
            cand --users 'Only these users (comma-separated names; -1 is every user)'
            cand --server 'Daemon to use: unix:/path, a socket path, http://host:port or https://host:port [env: CONDUCTOR_SERVER]'
            cand -a 'Show every user'
            cand --all 'Show every user'
            cand -l 'Show the long layout (NormUsage and the TRES columns too)'
            cand --long 'Show the long layout (NormUsage and the TRES columns too)'
            cand -n 'Do not print the header'
            cand --noheader 'Do not print the header'
            cand -p 'Parsable: fields separated by ''|'', one at the end of each line too'
            cand --parsable 'Parsable: fields separated by ''|'', one at the end of each line too'
            cand -P 'Parsable: fields separated by ''|'', none at the end'
            cand --parsable2 'Parsable: fields separated by ''|'', none at the end'
            cand -U 'Show the users'' lines only, not the account''s'
            cand --Users 'Show the users'' lines only, not the account''s'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
