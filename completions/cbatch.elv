
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
            cand -o 'File for the job''s stdout, with %j %x %u %% patterns [default: slurm-%j.out]'
            cand --output 'File for the job''s stdout, with %j %x %u %% patterns [default: slurm-%j.out]'
            cand -e 'File for the job''s stderr [default: the stdout file]'
            cand --error 'File for the job''s stderr [default: the stdout file]'
            cand -c 'CPUs per task'
            cand --cpus-per-task 'CPUs per task'
            cand -n 'Number of tasks; CPUs allocated = ntasks × cpus-per-task'
            cand --ntasks 'Number of tasks; CPUs allocated = ntasks × cpus-per-task'
            cand --mem 'Memory for the job: 500M, 4G, or MiB as a plain number; 0 = all of the node'
            cand -G 'GPUs for the job'
            cand --gpus 'GPUs for the job'
            cand -t 'Time limit: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS or UNLIMITED'
            cand --time 'Time limit: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS or UNLIMITED'
            cand -p 'Partition [default: the node''s one partition]'
            cand --partition 'Partition [default: the node''s one partition]'
            cand -D 'Working directory of the job [default: the current directory]'
            cand --chdir 'Working directory of the job [default: the current directory]'
            cand --wrap 'Run this shell command as the job''s script'
            cand --server 'Daemon to use: unix:/path, a socket path, or http://host:port [env: CONDUCTOR_SERVER]'
            cand --parsable 'Print only the job id'
            cand -W 'Wait for the job to end; exit with its exit code (1 if a signal ended it)'
            cand --wait 'Wait for the job to end; exit with its exit code (1 if a signal ended it)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
