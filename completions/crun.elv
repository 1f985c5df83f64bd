
use builtin;
use str;

set edit:completion:arg-completer[crun] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'crun'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'crun'= {
            cand -n 'Number of copies (tasks) to run'
            cand --ntasks 'Number of copies (tasks) to run'
            cand -c 'CPUs per task'
            cand --cpus-per-task 'CPUs per task'
            cand --mem 'Memory (a new job only)'
            cand -t 'Time limit (a new job only)'
            cand --time 'Time limit (a new job only)'
            cand -J 'Job name (a new job only)'
            cand --job-name 'Job name (a new job only)'
            cand -p 'Partition (a new job only)'
            cand --partition 'Partition (a new job only)'
            cand -D 'Working directory'
            cand --chdir 'Working directory'
            cand -G 'GPUs (a new job only)'
            cand --gpus 'GPUs (a new job only)'
            cand -o 'File for each task''s stdout, with %j %t %s %N %% patterns [default: the terminal]'
            cand --output 'File for each task''s stdout, with %j %t %s %N %% patterns [default: the terminal]'
            cand -e 'File for each task''s stderr [default: the terminal]'
            cand --error 'File for each task''s stderr [default: the terminal]'
            cand -N 'Nodes: 1 is all there is (accepted)'
            cand --nodes 'Nodes: 1 is all there is (accepted)'
            cand --cpu-bind 'Bind tasks to CPUs (accepted)'
            cand --export 'Environment for the tasks (accepted; the job''s environment is used)'
            cand --server 'Daemon to use: unix:/path, a socket path, http://host:port or https://host:port [env: CONDUCTOR_SERVER]'
            cand -l 'Put the task number in front of each line of output (`0: `)'
            cand --label 'Put the task number in front of each line of output (`0: `)'
            cand -u 'Do not buffer output (crun never does; accepted)'
            cand --unbuffered 'Do not buffer output (crun never does; accepted)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
