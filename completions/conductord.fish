complete -c conductord -l config -d 'Read the settings from this TOML file [default: $XDG_CONFIG_HOME/conductor/conductor.toml, with --system /etc/conductor/conductor.toml]' -r -F
complete -c conductord -l import-properties -d 'Print the seed service\'s app.properties FILE as a conductor.toml, and exit' -r -F
complete -c conductord -l socket -d 'Unix socket to serve on [default: $XDG_RUNTIME_DIR/conductor/conductord.sock]' -r -F
complete -c conductord -l listen -d 'Also serve the API over TCP on this address, e.g. 127.0.0.1:6820' -r
complete -c conductord -l tls-cert -d 'Serve --listen over TLS with this certificate chain (PEM, the server\'s first)' -r -F
complete -c conductord -l tls-key -d 'The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1)' -r -F
complete -c conductord -l state-dir -d 'Directory for the job store and scripts [default: $XDG_STATE_HOME/conductor] (StateSaveLocation)' -r -F
complete -c conductord -l store -d 'Keep the jobs in this PostgreSQL database (postgres://user[:password]@host[:port]/db) rather than SQLite in the state directory' -r
complete -c conductord -l log-file -d 'Append the daemon\'s log to this file instead of stderr' -r -F
complete -c conductord -l node-name -l node -d 'The node\'s name, as jobs and cinfo see it (NodeName) [default: the short host name]' -r
complete -c conductord -l cpus -d 'CPUs to offer to jobs [default: the online CPUs]' -r
complete -c conductord -l mem -d 'Memory to offer to jobs, e.g. 16G [default: physical memory] (RealMemory; a number is MB)' -r
complete -c conductord -l gpus -d 'GPUs to offer: a count (2) or ordinals (0,2 or 0-3) [default: the GPUs found]' -r
complete -c conductord -l gpu-files -d 'The offered GPUs\' device nodes, in order (gres.conf\'s File=): /dev/nvidia0,/dev/nvidia1' -r -F
complete -c conductord -l kill-wait -d 'Seconds between SIGTERM and SIGKILL when a job is cancelled or times out (KillWait)' -r
complete -c conductord -l node-timeout -d 'Seconds without a heartbeat after which a node of a PostgreSQL store is DOWN (SlurmdTimeout)' -r
complete -c conductord -l requeue-delay -d 'Seconds a requeued job waits before it may run again (Slurm: its credential lifetime, 120 s, plus one)' -r
complete -c conductord -l min-job-age -d 'Seconds a finished job stays visible to cqueue and ccontrol (slurm.conf\'s MinJobAge); 0 keeps it for ever' -r
complete -c conductord -l history-days -d 'Days finished jobs stay in the history (cacct); 0 keeps them forever' -r
complete -c conductord -l partition -d 'Name of the node\'s one partition, when no --partition-def is given' -r
complete -c conductord -l partition-def -d 'A partition, as a slurm.conf line: \'PartitionName=debug MaxTime=30 Default=YES\'; repeatable' -r
complete -c conductord -l max-jobs-per-user -d 'Running jobs one user may have at once, array tasks each counted (MaxJobsPerUser)' -r
complete -c conductord -l max-tres-per-user -d 'What one user\'s running jobs may hold at once: cpu=N,mem=SIZE,gres/gpu=N (MaxTRESPerUser)' -r
complete -c conductord -l operator -d 'A user (name or uid) who may act on anyone\'s jobs; repeatable' -r
complete -c conductord -l containment -d 'How jobs are held to their CPUs, memory and processes: cgroup v2, cgroup v1, or none (a subreaper supervisor, affinity and a sampled memory limit)' -r -f -a "auto\t'The best this machine offers: cgroup v2, else v1, else none'
cgroup2\t'cgroup v2 (a delegated subtree)'
cgroup1\t'cgroup v1 controllers'
none\t'No cgroups: a subreaper supervisor, affinity and a memory sampler'"
complete -c conductord -l cpu-bind -d 'Whether jobs are pinned to their booked CPUs (cpuset and affinity): cores or none' -r -f -a "cores\t''
none\t''"
complete -c conductord -l def-mem-per-cpu -d 'Memory booked (and the limit) per CPU for jobs that ask for none, e.g. 2G (DefMemPerCPU; a number is MB)' -r
complete -c conductord -l max-job-count -d 'Jobs held at most, pending and running together (Slurm\'s MaxJobCount)' -r
complete -c conductord -l first-job-id -d 'The id of the first job; later jobs count on from it, never below the highest used (FirstJobId)' -r
complete -c conductord -l time-limit-unit -d 'What time limits are kept in: minutes (rounded up, as Slurm) or seconds (for tests)' -r -f -a "minutes\t'Whole minutes, rounded up (`-t 10:30` is 11:00), as Slurm keeps them'
seconds\t'Seconds, as asked'"
complete -c conductord -l max-submit-jobs-per-user -l max-submit-per-user -d 'Pending and running jobs one user may have, array tasks each counted (MaxSubmitJobsPerUser)' -r
complete -c conductord -l max-array-size -d 'Array indices go from 0 to N-1, at most 4000001 (Slurm\'s MaxArraySize)' -r
complete -c conductord -l scheduler-type -d 'How jobs are scheduled: backfill (First Fit plus a reservation for the first job that does not fit) or builtin (First Fit alone)' -r -f -a "backfill\t'First Fit, and the first job that does not fit gets a reservation from the running jobs\' time limits that later jobs may not delay'
builtin\t'First Fit alone: a job that does not fit is passed over, so a large job may wait for ever behind a stream of small ones (Slurm\'s builtin is strict priority order instead)'"
complete -c conductord -l bf-window -d 'Minutes ahead a backfill reservation may lie at most (SchedulerParameters\' bf_window)' -r
complete -c conductord -l bf-max-job-test -d 'Jobs a pass tests behind its reservation at most (SchedulerParameters\' bf_max_job_test)' -r
complete -c conductord -l priority-type -d 'How pending jobs are ordered: basic (by -nice, then submit time) or multifactor (PriorityType)' -r
complete -c conductord -l priority-weight-age -d 'Weight of the age factor under multifactor (PriorityWeightAge; Slurm\'s default is 0)' -r
complete -c conductord -l priority-weight-fairshare -d 'Weight of the fair-share factor under multifactor (PriorityWeightFairshare)' -r
complete -c conductord -l priority-weight-job-size -d 'Weight of the job-size factor under multifactor (PriorityWeightJobSize)' -r
complete -c conductord -l priority-weight-partition -d 'Weight of the partition factor under multifactor (PriorityWeightPartition)' -r
complete -c conductord -l priority-max-age -d 'Age at which a job\'s age factor reaches 1, in Slurm\'s time format (PriorityMaxAge)' -r
complete -c conductord -l priority-decay-half-life -d 'Time in which past usage loses half its weight (PriorityDecayHalfLife); 0 never decays' -r
complete -c conductord -l priority-calc-period -d 'How often every pending job\'s priority is computed again, in minutes or Slurm\'s time format (PriorityCalcPeriod)' -r
complete -c conductord -l tres-billing-weights -d 'What a second of each resource bills a user\'s usage, e.g. CPU=1.0,Mem=0.25G,GRES/gpu=2.0 (TRESBillingWeights)' -r
complete -c conductord -l fairshare-shares -d 'Users\' fair-share shares, e.g. alice=2,bob=1; users not named have 1' -r
complete -c conductord -l max-connections -d 'Connections open at once, in all' -r
complete -c conductord -l max-connections-per-user -d 'Connections open at once from one user (one address over TCP)' -r
complete -c conductord -l idle-timeout -d 'Seconds a connection may wait before sending a request (and between requests)' -r
complete -c conductord -l request-timeout -d 'Seconds one request may take, its body included (408 after that)' -r
complete -c conductord -l launcher -d 'Run as the daemon\'s launcher of the supervisors of the jobs in DIR (internal)' -r -F
complete -c conductord -l print-config -d 'Print the effective settings (the file, the flags over it) as TOML that --config reads, and exit'
complete -c conductord -l system -d 'A system daemon, as root for every user: socket /run/conductor/conductord.sock (mode 0666), state in /var/lib/conductor, jobs run as their submitters'
complete -c conductord -l insecure-listen -d 'Allow --listen beyond loopback over plain HTTP (tokens then cross the network in clear)'
complete -c conductord -l metrics-public -d 'Serve GET /metrics over --listen without a token (the rest of the API still needs one)'
complete -c conductord -l enforce-part-limits -d 'Refuse a job that asks for more CPUs than the node has (slurm.conf\'s EnforcePartLimits)'
complete -c conductord -s h -l help -d 'Print help (see more with \'--help\')'
complete -c conductord -s V -l version -d 'Print version'
