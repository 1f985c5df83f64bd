complete -c cbatch -s J -l job-name -d 'Job name [default: the script\'s file name; `sbatch` for stdin; `wrap` for --wrap]' -r
complete -c cbatch -s o -l output -d 'File for the job\'s stdout, with %j %J %A %a %x %u %N %% patterns [default: slurm-%j.out]' -r
complete -c cbatch -s e -l error -d 'File for the job\'s stderr [default: the stdout file]' -r
complete -c cbatch -s i -l input -d 'File for the job\'s stdin [default: /dev/null]' -r
complete -c cbatch -l open-mode -d 'Truncate or append to the output files: truncate (default) or append' -r
complete -c cbatch -s c -l cpus-per-task -d 'CPUs per task' -r
complete -c cbatch -s n -l ntasks -d 'Number of tasks; CPUs allocated = ntasks × cpus-per-task' -r
complete -c cbatch -l ntasks-per-node -d 'Tasks per node; on one node, the number of tasks' -r
complete -c cbatch -s N -l nodes -d 'Nodes: 1 (or 1-N) is all a single node can give' -r
complete -c cbatch -l mem -d 'Memory for the job: 500M, 4G, or MiB as a plain number; 0 = all of the node' -r
complete -c cbatch -l mem-per-cpu -d 'Memory per allocated CPU' -r
complete -c cbatch -l mem-per-gpu -d 'Memory per GPU (recorded)' -r
complete -c cbatch -s G -l gpus -d 'GPUs for the job: N or TYPE:N' -r
complete -c cbatch -l gpus-per-node -d 'GPUs per node: N or TYPE:N' -r
complete -c cbatch -l gpus-per-task -d 'GPUs per task: N or TYPE:N' -r
complete -c cbatch -l gres -d 'Generic resources: gpu, gpu:N or gpu:TYPE:N' -r
complete -c cbatch -l cpus-per-gpu -d 'CPUs per GPU (recorded)' -r
complete -c cbatch -l exclusive -d 'Take the whole node\'s CPUs and GPUs' -r
complete -c cbatch -s t -l time -d 'Time limit: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS or UNLIMITED' -r
complete -c cbatch -l time-min -d 'Minimum time limit (recorded)' -r
complete -c cbatch -s p -l partition -d 'Partition [default: the node\'s one partition]' -r
complete -c cbatch -s D -l chdir -d 'Working directory of the job [default: the current directory]' -r
complete -c cbatch -s a -l array -d 'Job array indices: 0-9, 1,3,5, 1-9:2, with %N to run at most N at once' -r
complete -c cbatch -s d -l dependency -d 'Start only after these jobs: afterok:ID[:ID], afterany, afternotok, after[+min], singleton; \',\' = all, \'?\' = any' -r
complete -c cbatch -l kill-on-invalid-dep -d 'Cancel the job when its dependency can never be satisfied: yes or no' -r
complete -c cbatch -s b -l begin -d 'Start no earlier than: now+1hour, 16:00, 2026-12-24T08:00, tomorrow, ...' -r
complete -c cbatch -l export -d 'Environment given to the job: ALL (default), NONE, or [ALL,]VAR[=value],...' -r
complete -c cbatch -l export-file -d 'File of NUL-separated NAME=value pairs added to the job\'s environment' -r
complete -c cbatch -l nice -d 'Lower the job\'s priority by this much (default 100)' -r
complete -c cbatch -l priority -d 'Requested priority (recorded)' -r
complete -c cbatch -l signal -d 'Signal to send before the time limit: [B:]SIG[@SECONDS] (default 60 s)' -r
complete -c cbatch -l comment -d 'A comment kept with the job' -r
complete -c cbatch -s A -l account -d 'Account (recorded)' -r
complete -c cbatch -s q -l qos -d 'Quality of service (recorded)' -r
complete -c cbatch -l wckey -d 'Workload characterization key (recorded)' -r
complete -c cbatch -s M -l clusters -d 'Clusters (recorded; there is one)' -r
complete -c cbatch -s C -l constraint -d 'Required node features (recorded)' -r
complete -c cbatch -s x -l exclude -d 'Nodes to avoid (recorded)' -r
complete -c cbatch -s w -l nodelist -d 'Nodes to use (recorded)' -r
complete -c cbatch -l reservation -d 'Reservation (recorded)' -r
complete -c cbatch -l mail-type -d 'Mail events (recorded; no mail is sent)' -r
complete -c cbatch -l mail-user -d 'Mail recipient (recorded; no mail is sent)' -r
complete -c cbatch -l propagate -d 'Resource limits to propagate (recorded)' -r
complete -c cbatch -l get-user-env -d 'Load the user\'s login environment (recorded)' -r
complete -c cbatch -l wrap -d 'Run this shell command as the job\'s script' -r
complete -c cbatch -l server -d 'Daemon to use: unix:/path, a socket path, http://host:port or https://host:port [env: CONDUCTOR_SERVER]' -r
complete -c cbatch -s H -l hold -d 'Submit the job held; `ccontrol release` lets it run'
complete -c cbatch -l requeue -d 'Let the job be requeued (recorded)'
complete -c cbatch -l no-requeue -d 'Do not requeue the job (recorded)'
complete -c cbatch -s s -l oversubscribe -d 'Share the node with other jobs (recorded)'
complete -c cbatch -l test-only -d 'Check the job and say when it would start; submit nothing'
complete -c cbatch -l parsable -d 'Print only the job id'
complete -c cbatch -s Q -l quiet -d 'Print nothing on success'
complete -c cbatch -s v -l verbose -d 'More messages (accepted)'
complete -c cbatch -s W -l wait -d 'Wait for the job to end; exit with its exit code (1 if a signal ended it)'
complete -c cbatch -l follow -d 'Wait as --wait does, printing the job\'s output as it writes it (Conductor\'s own; see clog)'
complete -c cbatch -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cbatch -s V -l version -d 'Print version'
