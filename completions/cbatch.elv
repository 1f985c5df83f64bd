
use builtin;
use str;

set edit:completion:arg-completer[cbatch] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'cbatch'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'cbatch'= {
            cand -J 'Job name [default: the script''s file name; `sbatch` for stdin; `wrap` for --wrap]'
            cand --job-name 'Job name [default: the script''s file name; `sbatch` for stdin; `wrap` for --wrap]'
            cand -o 'File for the job''s stdout, with %j %J %A %a %x %u %N %% patterns [default: slurm-%j.out]'
            cand --output 'File for the job''s stdout, with %j %J %A %a %x %u %N %% patterns [default: slurm-%j.out]'
            cand -e 'File for the job''s stderr [default: the stdout file]'
            cand --error 'File for the job''s stderr [default: the stdout file]'
            cand -i 'File for the job''s stdin [default: /dev/null]'
            cand --input 'File for the job''s stdin [default: /dev/null]'
            cand --open-mode 'Truncate or append to the output files: truncate (default) or append'
            cand -c 'CPUs per task'
            cand --cpus-per-task 'CPUs per task'
            cand -n 'Number of tasks; CPUs allocated = ntasks × cpus-per-task'
            cand --ntasks 'Number of tasks; CPUs allocated = ntasks × cpus-per-task'
            cand --ntasks-per-node 'Tasks per node; on one node, the number of tasks'
            cand -N 'Nodes: 1 (or 1-N) is all a single node can give'
            cand --nodes 'Nodes: 1 (or 1-N) is all a single node can give'
            cand --mem 'Memory for the job: 500M, 4G, or MiB as a plain number; 0 = all of the node'
            cand --mem-per-cpu 'Memory per allocated CPU'
            cand --mem-per-gpu 'Memory per GPU (recorded)'
            cand -G 'GPUs for the job: N or TYPE:N'
            cand --gpus 'GPUs for the job: N or TYPE:N'
            cand --gpus-per-node 'GPUs per node: N or TYPE:N'
            cand --gpus-per-task 'GPUs per task: N or TYPE:N'
            cand --gres 'Generic resources: gpu, gpu:N or gpu:TYPE:N'
            cand --cpus-per-gpu 'CPUs per GPU (recorded)'
            cand --exclusive 'Take the whole node''s CPUs and GPUs'
            cand -t 'Time limit: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS or UNLIMITED'
            cand --time 'Time limit: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS or UNLIMITED'
            cand --time-min 'Minimum time limit (recorded)'
            cand -p 'Partition [default: the node''s one partition]'
            cand --partition 'Partition [default: the node''s one partition]'
            cand -D 'Working directory of the job [default: the current directory]'
            cand --chdir 'Working directory of the job [default: the current directory]'
            cand -a 'Job array indices: 0-9, 1,3,5, 1-9:2, with %N to run at most N at once'
            cand --array 'Job array indices: 0-9, 1,3,5, 1-9:2, with %N to run at most N at once'
            cand -d 'Start only after these jobs: afterok:ID[:ID], afterany, afternotok, after[+min], singleton; '','' = all, ''?'' = any'
            cand --dependency 'Start only after these jobs: afterok:ID[:ID], afterany, afternotok, after[+min], singleton; '','' = all, ''?'' = any'
            cand --kill-on-invalid-dep 'Cancel the job when its dependency can never be satisfied: yes or no'
            cand -b 'Start no earlier than: now+1hour, 16:00, 2026-12-24T08:00, tomorrow, ...'
            cand --begin 'Start no earlier than: now+1hour, 16:00, 2026-12-24T08:00, tomorrow, ...'
            cand --export 'Environment given to the job: ALL (default), NONE, or [ALL,]VAR[=value],...'
            cand --export-file 'File of NUL-separated NAME=value pairs added to the job''s environment'
            cand --nice 'Lower the job''s priority by this much (default 100)'
            cand --priority 'Requested priority (recorded)'
            cand --signal 'Signal to send before the time limit: [B:]SIG[@SECONDS] (default 60 s)'
            cand --comment 'A comment kept with the job'
            cand -A 'Account (recorded)'
            cand --account 'Account (recorded)'
            cand -q 'Quality of service (recorded)'
            cand --qos 'Quality of service (recorded)'
            cand --wckey 'Workload characterization key (recorded)'
            cand -M 'Clusters (recorded; there is one)'
            cand --clusters 'Clusters (recorded; there is one)'
            cand -C 'Required node features (recorded)'
            cand --constraint 'Required node features (recorded)'
            cand -x 'Nodes to avoid (recorded)'
            cand --exclude 'Nodes to avoid (recorded)'
            cand -w 'Nodes to use (recorded)'
            cand --nodelist 'Nodes to use (recorded)'
            cand --reservation 'Reservation (recorded)'
            cand --mail-type 'Mail events (recorded; no mail is sent)'
            cand --mail-user 'Mail recipient (recorded; no mail is sent)'
            cand --propagate 'Resource limits to propagate (recorded)'
            cand --get-user-env 'Load the user''s login environment (recorded)'
            cand --wrap 'Run this shell command as the job''s script'
            cand --server 'Daemon to use: unix:/path, a socket path, http://host:port or https://host:port [env: CONDUCTOR_SERVER]'
            cand -H 'Submit the job held; `ccontrol release` lets it run'
            cand --hold 'Submit the job held; `ccontrol release` lets it run'
            cand --requeue 'Let the job be requeued (recorded)'
            cand --no-requeue 'Do not requeue the job (recorded)'
            cand -s 'Share the node with other jobs (recorded)'
            cand --oversubscribe 'Share the node with other jobs (recorded)'
            cand --test-only 'Check the job and say when it would start; submit nothing'
            cand --parsable 'Print only the job id'
            cand -Q 'Print nothing on success'
            cand --quiet 'Print nothing on success'
            cand -v 'More messages (accepted)'
            cand --verbose 'More messages (accepted)'
            cand -W 'Wait for the job to end; exit with its exit code (1 if a signal ended it)'
            cand --wait 'Wait for the job to end; exit with its exit code (1 if a signal ended it)'
            cand --follow 'Wait as --wait does, printing the job''s output as it writes it (Conductor''s own; see clog)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
