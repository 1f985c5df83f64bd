complete -c cbatch -s J -l job-name -d 'Job name [default: the script\'s file name; `sbatch` for stdin; `wrap` for --wrap]' -r
complete -c cbatch -s o -l output -d 'File for the job\'s stdout, with %j %x %u %% patterns [default: slurm-%j.out]' -r
complete -c cbatch -s e -l error -d 'File for the job\'s stderr [default: the stdout file]' -r
complete -c cbatch -s c -l cpus-per-task -d 'CPUs per task' -r
complete -c cbatch -s n -l ntasks -d 'Number of tasks; CPUs allocated = ntasks × cpus-per-task' -r
complete -c cbatch -l mem -d 'Memory for the job: 500M, 4G, or MiB as a plain number; 0 = all of the node' -r
complete -c cbatch -s G -l gpus -d 'GPUs for the job' -r
complete -c cbatch -s t -l time -d 'Time limit: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS or UNLIMITED' -r
complete -c cbatch -s p -l partition -d 'Partition [default: the node\'s one partition]' -r
complete -c cbatch -s D -l chdir -d 'Working directory of the job [default: the current directory]' -r
complete -c cbatch -l wrap -d 'Run this shell command as the job\'s script' -r
complete -c cbatch -l server -d 'Daemon to use: unix:/path, a socket path, or http://host:port [env: CONDUCTOR_SERVER]' -r
complete -c cbatch -l parsable -d 'Print only the job id'
complete -c cbatch -s W -l wait -d 'Wait for the job to end; exit with its exit code (1 if a signal ended it)'
complete -c cbatch -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cbatch -s V -l version -d 'Print version'
