
use builtin;
use str;

set edit:completion:arg-completer[ccancel] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'ccancel'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'ccancel'= {
            cand -s 'Send this signal instead of cancelling: a name (USR1, SIGUSR1) or a number'
            cand --signal 'Send this signal instead of cancelling: a name (USR1, SIGUSR1) or a number'
            cand -u 'Only jobs of this user (name or uid)'
            cand --user 'Only jobs of this user (name or uid)'
            cand -n 'Only jobs with this name (comma-separated names)'
            cand --name 'Only jobs with this name (comma-separated names)'
            cand --jobname 'Only jobs with this name (comma-separated names)'
            cand -t 'Only jobs in this state (PENDING, RUNNING or SUSPENDED)'
            cand --state 'Only jobs in this state (PENDING, RUNNING or SUSPENDED)'
            cand -p 'Only jobs in this partition (comma-separated)'
            cand --partition 'Only jobs in this partition (comma-separated)'
            cand -A 'Only jobs charged to this account'
            cand --account 'Only jobs charged to this account'
            cand -q 'Only jobs with this QOS'
            cand --qos 'Only jobs with this QOS'
            cand -w 'Only jobs running on these nodes (comma-separated)'
            cand --nodelist 'Only jobs running on these nodes (comma-separated)'
            cand -R 'Only jobs in this reservation (there are no reservations: nothing matches)'
            cand --reservation 'Only jobs in this reservation (there are no reservations: nothing matches)'
            cand --wckey 'Only jobs with this wckey'
            cand -M 'Clusters to act on (accepted; there is one)'
            cand --clusters 'Clusters to act on (accepted; there is one)'
            cand --cluster 'Clusters to act on (accepted; there is one)'
            cand --server 'Daemon to use: unix:/path, a socket path, http://host:port or https://host:port [env: CONDUCTOR_SERVER]'
            cand -b 'Signal only the batch shell, not the other processes of the job'
            cand --batch 'Signal only the batch shell, not the other processes of the job'
            cand -f 'Signal every process of the job: the batch shell, its children and the steps'
            cand --full 'Signal every process of the job: the batch shell, its children and the steps'
            cand -i 'Ask before each job (`Cancel job_id=... [y/n]? ` on stderr, answer on stdin)'
            cand --interactive 'Ask before each job (`Cancel job_id=... [y/n]? ` on stderr, answer on stdin)'
            cand --me 'Only my jobs'
            cand -Q 'Do not report ids that are not active jobs (the exit status still does)'
            cand --quiet 'Do not report ids that are not active jobs (the exit status still does)'
            cand -v 'Say what is done to each job, on stderr'
            cand --verbose 'Say what is done to each job, on stderr'
            cand -H 'Skip burst buffer stage-out (accepted; there are no burst buffers)'
            cand --hurry 'Skip burst buffer stage-out (accepted; there are no burst buffers)'
            cand --ctld 'Send the request through the controller (accepted; it always is)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
