
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
            cand -n 'Number of copies (tasks) to run [default: the job''s tasks, SLURM_NTASKS]'
            cand --ntasks 'Number of copies (tasks) to run [default: the job''s tasks, SLURM_NTASKS]'
            cand -c 'CPUs per task [default: SLURM_CPUS_PER_TASK, else 1]'
            cand --cpus-per-task 'CPUs per task [default: SLURM_CPUS_PER_TASK, else 1]'
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
            cand -N 'Nodes, MIN[-MAX]: the job''s one node is all there is'
            cand --nodes 'Nodes, MIN[-MAX]: the job''s one node is all there is'
            cand --ntasks-per-node 'Tasks per node (ignored, with srun''s warning, where -n says otherwise)'
            cand -K 'End the step when a task exits non-zero or is killed (0 turns it off)'
            cand --kill-on-bad-exit 'End the step when a task exits non-zero or is killed (0 turns it off)'
            cand -W 'Kill the other tasks this many seconds after the first one ends (0: never)'
            cand --wait 'Kill the other tasks this many seconds after the first one ends (0: never)'
            cand --cpu-bind 'Bind tasks to CPUs (accepted)'
            cand --export 'Environment for the tasks (accepted; the job''s environment is used)'
            cand --server 'Daemon to use: unix:/path, a socket path, http://host:port or https://host:port [env: CONDUCTOR_SERVER]'
            cand -l 'Put the task number in front of each line of output and errors (`0: `)'
            cand --label 'Put the task number in front of each line of output and errors (`0: `)'
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
