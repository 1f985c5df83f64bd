
use builtin;
use str;

set edit:completion:arg-completer[conductord] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'conductord'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'conductord'= {
            cand --config 'Read the settings from this TOML file [default: $XDG_CONFIG_HOME/conductor/conductor.toml, with --system /etc/conductor/conductor.toml]'
            cand --import-properties 'Print the seed service''s app.properties FILE as a conductor.toml, and exit'
            cand --socket 'Unix socket to serve on [default: $XDG_RUNTIME_DIR/conductor/conductord.sock]'
            cand --listen 'Also serve the API over TCP on this address, e.g. 127.0.0.1:6820'
            cand --tls-cert 'Serve --listen over TLS with this certificate chain (PEM, the server''s first)'
            cand --tls-key 'The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1)'
            cand --state-dir 'Directory for the job store and scripts [default: $XDG_STATE_HOME/conductor] (StateSaveLocation)'
            cand --store 'Keep the jobs in this PostgreSQL database (postgres://user[:password]@host[:port]/db) rather than SQLite in the state directory'
            cand --log-file 'Append the daemon''s log to this file instead of stderr'
            cand --node-name 'The node''s name, as jobs and cinfo see it (NodeName) [default: the short host name]'
            cand --node 'The node''s name, as jobs and cinfo see it (NodeName) [default: the short host name]'
            cand --cpus 'CPUs to offer to jobs [default: the online CPUs]'
            cand --mem 'Memory to offer to jobs, e.g. 16G [default: physical memory] (RealMemory; a number is MB)'
            cand --gpus 'GPUs to offer: a count (2) or ordinals (0,2 or 0-3) [default: the GPUs found]'
            cand --gpu-files 'The offered GPUs'' device nodes, in order (gres.conf''s File=): /dev/nvidia0,/dev/nvidia1'
            cand --kill-wait 'Seconds between SIGTERM and SIGKILL when a job is cancelled or times out (KillWait)'
            cand --node-timeout 'Seconds without a heartbeat after which a node of a PostgreSQL store is DOWN (SlurmdTimeout)'
            cand --requeue-delay 'Seconds a requeued job waits before it may run again (Slurm: its credential lifetime, 120 s, plus one)'
            cand --min-job-age 'Seconds a finished job stays visible to cqueue and ccontrol (slurm.conf''s MinJobAge); 0 keeps it for ever'
            cand --history-days 'Days finished jobs stay in the history (cacct); 0 keeps them forever'
            cand --partition 'Name of the node''s one partition, when no --partition-def is given'
            cand --partition-def 'A partition, as a slurm.conf line: ''PartitionName=debug MaxTime=30 Default=YES''; repeatable'
            cand --max-jobs-per-user 'Running jobs one user may have at once, array tasks each counted (MaxJobsPerUser)'
            cand --max-tres-per-user 'What one user''s running jobs may hold at once: cpu=N,mem=SIZE,gres/gpu=N (MaxTRESPerUser)'
            cand --operator 'A user (name or uid) who may act on anyone''s jobs; repeatable'
            cand --containment 'How jobs are held to their CPUs, memory and processes: cgroup v2, cgroup v1, or none (a subreaper supervisor, affinity and a sampled memory limit)'
            cand --cpu-bind 'Whether jobs are pinned to their booked CPUs (cpuset and affinity): cores or none'
            cand --def-mem-per-cpu 'Memory booked (and the limit) per CPU for jobs that ask for none, e.g. 2G (DefMemPerCPU; a number is MB)'
            cand --max-job-count 'Jobs held at most, pending and running together (Slurm''s MaxJobCount)'
            cand --first-job-id 'The id of the first job; later jobs count on from it, never below the highest used (FirstJobId)'
            cand --time-limit-unit 'What time limits are kept in: minutes (rounded up, as Slurm) or seconds (for tests)'
            cand --max-submit-jobs-per-user 'Pending and running jobs one user may have, array tasks each counted (MaxSubmitJobsPerUser)'
            cand --max-submit-per-user 'Pending and running jobs one user may have, array tasks each counted (MaxSubmitJobsPerUser)'
            cand --max-array-size 'Array indices go from 0 to N-1, at most 4000001 (Slurm''s MaxArraySize)'
            cand --scheduler-type 'How jobs are scheduled: backfill (First Fit plus a reservation for the first job that does not fit) or builtin (First Fit alone)'
            cand --bf-window 'Minutes ahead a backfill reservation may lie at most (SchedulerParameters'' bf_window)'
            cand --bf-max-job-test 'Jobs a pass tests behind its reservation at most (SchedulerParameters'' bf_max_job_test)'
            cand --priority-type 'How pending jobs are ordered: basic (by -nice, then submit time) or multifactor (PriorityType)'
            cand --priority-weight-age 'Weight of the age factor under multifactor (PriorityWeightAge; Slurm''s default is 0)'
            cand --priority-weight-fairshare 'Weight of the fair-share factor under multifactor (PriorityWeightFairshare)'
            cand --priority-weight-job-size 'Weight of the job-size factor under multifactor (PriorityWeightJobSize)'
            cand --priority-weight-partition 'Weight of the partition factor under multifactor (PriorityWeightPartition)'
            cand --priority-max-age 'Age at which a job''s age factor reaches 1, in Slurm''s time format (PriorityMaxAge)'
            cand --priority-decay-half-life 'Time in which past usage loses half its weight (PriorityDecayHalfLife); 0 never decays'
            cand --priority-calc-period 'How often every pending job''s priority is computed again, in minutes or Slurm''s time format (PriorityCalcPeriod)'
            cand --tres-billing-weights 'What a second of each resource bills a user''s usage, e.g. CPU=1.0,Mem=0.25G,GRES/gpu=2.0 (TRESBillingWeights)'
            cand --fairshare-shares 'Users'' fair-share shares, e.g. alice=2,bob=1; users not named have 1'
            cand --max-connections 'Connections open at once, in all'
            cand --max-connections-per-user 'Connections open at once from one user (one address over TCP)'
            cand --idle-timeout 'Seconds a connection may wait before sending a request (and between requests)'
            cand --request-timeout 'Seconds one request may take, its body included (408 after that)'
            cand --launcher 'Run as the daemon''s launcher of the supervisors of the jobs in DIR (internal)'
            cand --print-config 'Print the effective settings (the file, the flags over it) as TOML that --config reads, and exit'
            cand --system 'A system daemon, as root for every user: socket /run/conductor/conductord.sock (mode 0666), state in /var/lib/conductor, jobs run as their submitters'
            cand --insecure-listen 'Allow --listen beyond loopback over plain HTTP (tokens then cross the network in clear)'
            cand --metrics-public 'Serve GET /metrics over --listen without a token (the rest of the API still needs one)'
            cand --enforce-part-limits 'Refuse a job that asks for more CPUs than the node has (slurm.conf''s EnforcePartLimits)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
