complete -c crun -s n -l ntasks -d 'Number of copies (tasks) to run [default: the job\'s tasks, SLURM_NTASKS]' -r
complete -c crun -s c -l cpus-per-task -d 'CPUs per task [default: SLURM_CPUS_PER_TASK, else 1]' -r
complete -c crun -l mem -d 'Memory (a new job only)' -r
complete -c crun -s t -l time -d 'Time limit (a new job only)' -r
complete -c crun -s J -l job-name -d 'Job name (a new job only)' -r
complete -c crun -s p -l partition -d 'Partition (a new job only)' -r
complete -c crun -s D -l chdir -d 'Working directory' -r
complete -c crun -s G -l gpus -d 'GPUs (a new job only)' -r
complete -c crun -s o -l output -d 'File for each task\'s stdout, with %j %t %s %N %% patterns [default: the terminal]' -r
complete -c crun -s e -l error -d 'File for each task\'s stderr [default: the terminal]' -r
complete -c crun -s N -l nodes -d 'Nodes, MIN[-MAX]: the job\'s one node is all there is' -r
complete -c crun -l ntasks-per-node -d 'Tasks per node (ignored, with srun\'s warning, where -n says otherwise)' -r
complete -c crun -s K -l kill-on-bad-exit -d 'End the step when a task exits non-zero or is killed (0 turns it off)' -r
complete -c crun -s W -l wait -d 'Kill the other tasks this many seconds after the first one ends (0: never)' -r
complete -c crun -l cpu-bind -d 'Bind tasks to CPUs (accepted)' -r
complete -c crun -l export -d 'Environment for the tasks (accepted; the job\'s environment is used)' -r
complete -c crun -l server -d 'Daemon to use: unix:/path, a socket path, http://host:port or https://host:port [env: CONDUCTOR_SERVER]' -r
complete -c crun -s l -l label -d 'Put the task number in front of each line of output and errors (`0: `)'
complete -c crun -s u -l unbuffered -d 'Do not buffer output (crun never does; accepted)'
complete -c crun -s h -l help -d 'Print help (see more with \'--help\')'
complete -c crun -s V -l version -d 'Print version'
