
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'conductord' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'conductord'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'conductord' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read the settings from this TOML file [default: $XDG_CONFIG_HOME/conductor/conductor.toml, with --system /etc/conductor/conductor.toml]')
            [CompletionResult]::new('--import-properties', '--import-properties', [CompletionResultType]::ParameterName, 'Print the seed service''s app.properties FILE as a conductor.toml, and exit')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'Unix socket to serve on [default: $XDG_RUNTIME_DIR/conductor/conductord.sock]')
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Also serve the API over TCP on this address, e.g. 127.0.0.1:6820')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'Serve --listen over TLS with this certificate chain (PEM, the server''s first)')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1)')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Directory for the job store and scripts [default: $XDG_STATE_HOME/conductor] (StateSaveLocation)')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Keep the jobs in this PostgreSQL database (postgres://user[:password]@host[:port]/db) rather than SQLite in the state directory')
            [CompletionResult]::new('--log-file', '--log-file', [CompletionResultType]::ParameterName, 'Append the daemon''s log to this file instead of stderr')
            [CompletionResult]::new('--node-name', '--node-name', [CompletionResultType]::ParameterName, 'The node''s name, as jobs and cinfo see it (NodeName) [default: the short host name]')
            [CompletionResult]::new('--node', '--node', [CompletionResultType]::ParameterName, 'The node''s name, as jobs and cinfo see it (NodeName) [default: the short host name]')
            [CompletionResult]::new('--cpus', '--cpus', [CompletionResultType]::ParameterName, 'CPUs to offer to jobs [default: the online CPUs]')
            [CompletionResult]::new('--mem', '--mem', [CompletionResultType]::ParameterName, 'Memory to offer to jobs, e.g. 16G [default: physical memory] (RealMemory; a number is MB)')
            [CompletionResult]::new('--gpus', '--gpus', [CompletionResultType]::ParameterName, 'GPUs to offer: a count (2) or ordinals (0,2 or 0-3) [default: the GPUs found]')
            [CompletionResult]::new('--gpu-files', '--gpu-files', [CompletionResultType]::ParameterName, 'The offered GPUs'' device nodes, in order (gres.conf''s File=): /dev/nvidia0,/dev/nvidia1')
            [CompletionResult]::new('--kill-wait', '--kill-wait', [CompletionResultType]::ParameterName, 'Seconds between SIGTERM and SIGKILL when a job is cancelled or times out (KillWait)')
            [CompletionResult]::new('--node-timeout', '--node-timeout', [CompletionResultType]::ParameterName, 'Seconds without a heartbeat after which a node of a PostgreSQL store is DOWN (SlurmdTimeout)')
            [CompletionResult]::new('--requeue-delay', '--requeue-delay', [CompletionResultType]::ParameterName, 'Seconds a requeued job waits before it may run again (Slurm: its credential lifetime, 120 s, plus one)')
            [CompletionResult]::new('--min-job-age', '--min-job-age', [CompletionResultType]::ParameterName, 'Seconds a finished job stays visible to cqueue and ccontrol (slurm.conf''s MinJobAge); 0 keeps it for ever')
            [CompletionResult]::new('--history-days', '--history-days', [CompletionResultType]::ParameterName, 'Days finished jobs stay in the history (cacct); 0 keeps them forever')
            [CompletionResult]::new('--partition', '--partition', [CompletionResultType]::ParameterName, 'Name of the node''s one partition, when no --partition-def is given')
            [CompletionResult]::new('--partition-def', '--partition-def', [CompletionResultType]::ParameterName, 'A partition, as a slurm.conf line: ''PartitionName=debug MaxTime=30 Default=YES''; repeatable')
            [CompletionResult]::new('--max-jobs-per-user', '--max-jobs-per-user', [CompletionResultType]::ParameterName, 'Running jobs one user may have at once, array tasks each counted (MaxJobsPerUser)')
            [CompletionResult]::new('--max-tres-per-user', '--max-tres-per-user', [CompletionResultType]::ParameterName, 'What one user''s running jobs may hold at once: cpu=N,mem=SIZE,gres/gpu=N (MaxTRESPerUser)')
            [CompletionResult]::new('--operator', '--operator', [CompletionResultType]::ParameterName, 'A user (name or uid) who may act on anyone''s jobs; repeatable')
            [CompletionResult]::new('--containment', '--containment', [CompletionResultType]::ParameterName, 'How jobs are held to their CPUs, memory and processes: cgroup v2, cgroup v1, or none (a subreaper supervisor, affinity and a sampled memory limit)')
            [CompletionResult]::new('--cpu-bind', '--cpu-bind', [CompletionResultType]::ParameterName, 'Whether jobs are pinned to their booked CPUs (cpuset and affinity): cores or none')
            [CompletionResult]::new('--def-mem-per-cpu', '--def-mem-per-cpu', [CompletionResultType]::ParameterName, 'Memory booked (and the limit) per CPU for jobs that ask for none, e.g. 2G (DefMemPerCPU; a number is MB)')
            [CompletionResult]::new('--max-job-count', '--max-job-count', [CompletionResultType]::ParameterName, 'Jobs held at most, pending and running together (Slurm''s MaxJobCount)')
            [CompletionResult]::new('--first-job-id', '--first-job-id', [CompletionResultType]::ParameterName, 'The id of the first job; later jobs count on from it, never below the highest used (FirstJobId)')
            [CompletionResult]::new('--time-limit-unit', '--time-limit-unit', [CompletionResultType]::ParameterName, 'What time limits are kept in: minutes (rounded up, as Slurm) or seconds (for tests)')
            [CompletionResult]::new('--max-submit-jobs-per-user', '--max-submit-jobs-per-user', [CompletionResultType]::ParameterName, 'Pending and running jobs one user may have, array tasks each counted (MaxSubmitJobsPerUser)')
            [CompletionResult]::new('--max-submit-per-user', '--max-submit-per-user', [CompletionResultType]::ParameterName, 'Pending and running jobs one user may have, array tasks each counted (MaxSubmitJobsPerUser)')
            [CompletionResult]::new('--max-array-size', '--max-array-size', [CompletionResultType]::ParameterName, 'Array indices go from 0 to N-1, at most 4000001 (Slurm''s MaxArraySize)')
            [CompletionResult]::new('--scheduler-type', '--scheduler-type', [CompletionResultType]::ParameterName, 'How jobs are scheduled: backfill (First Fit plus a reservation for the first job that does not fit) or builtin (First Fit alone)')
            [CompletionResult]::new('--bf-window', '--bf-window', [CompletionResultType]::ParameterName, 'Minutes ahead a backfill reservation may lie at most (SchedulerParameters'' bf_window)')
            [CompletionResult]::new('--bf-max-job-test', '--bf-max-job-test', [CompletionResultType]::ParameterName, 'Jobs a pass tests behind its reservation at most (SchedulerParameters'' bf_max_job_test)')
            [CompletionResult]::new('--priority-type', '--priority-type', [CompletionResultType]::ParameterName, 'How pending jobs are ordered: basic (by -nice, then submit time) or multifactor (PriorityType)')
            [CompletionResult]::new('--priority-weight-age', '--priority-weight-age', [CompletionResultType]::ParameterName, 'Weight of the age factor under multifactor (PriorityWeightAge; Slurm''s default is 0)')
            [CompletionResult]::new('--priority-weight-fairshare', '--priority-weight-fairshare', [CompletionResultType]::ParameterName, 'Weight of the fair-share factor under multifactor (PriorityWeightFairshare)')
            [CompletionResult]::new('--priority-weight-job-size', '--priority-weight-job-size', [CompletionResultType]::ParameterName, 'Weight of the job-size factor under multifactor (PriorityWeightJobSize)')
            [CompletionResult]::new('--priority-weight-partition', '--priority-weight-partition', [CompletionResultType]::ParameterName, 'Weight of the partition factor under multifactor (PriorityWeightPartition)')
            [CompletionResult]::new('--priority-max-age', '--priority-max-age', [CompletionResultType]::ParameterName, 'Age at which a job''s age factor reaches 1, in Slurm''s time format (PriorityMaxAge)')
            [CompletionResult]::new('--priority-decay-half-life', '--priority-decay-half-life', [CompletionResultType]::ParameterName, 'Time in which past usage loses half its weight (PriorityDecayHalfLife); 0 never decays')
            [CompletionResult]::new('--priority-calc-period', '--priority-calc-period', [CompletionResultType]::ParameterName, 'How often every pending job''s priority is computed again, in minutes or Slurm''s time format (PriorityCalcPeriod)')
            [CompletionResult]::new('--tres-billing-weights', '--tres-billing-weights', [CompletionResultType]::ParameterName, 'What a second of each resource bills a user''s usage, e.g. CPU=1.0,Mem=0.25G,GRES/gpu=2.0 (TRESBillingWeights)')
            [CompletionResult]::new('--fairshare-shares', '--fairshare-shares', [CompletionResultType]::ParameterName, 'Users'' fair-share shares, e.g. alice=2,bob=1; users not named have 1')
            [CompletionResult]::new('--max-connections', '--max-connections', [CompletionResultType]::ParameterName, 'Connections open at once, in all')
            [CompletionResult]::new('--max-connections-per-user', '--max-connections-per-user', [CompletionResultType]::ParameterName, 'Connections open at once from one user (one address over TCP)')
            [CompletionResult]::new('--idle-timeout', '--idle-timeout', [CompletionResultType]::ParameterName, 'Seconds a connection may wait before sending a request (and between requests)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Seconds one request may take, its body included (408 after that)')
            [CompletionResult]::new('--launcher', '--launcher', [CompletionResultType]::ParameterName, 'Run as the daemon''s launcher of the supervisors of the jobs in DIR (internal)')
            [CompletionResult]::new('--print-config', '--print-config', [CompletionResultType]::ParameterName, 'Print the effective settings (the file, the flags over it) as TOML that --config reads, and exit')
            [CompletionResult]::new('--system', '--system', [CompletionResultType]::ParameterName, 'A system daemon, as root for every user: socket /run/conductor/conductord.sock (mode 0666), state in /var/lib/conductor, jobs run as their submitters')
            [CompletionResult]::new('--insecure-listen', '--insecure-listen', [CompletionResultType]::ParameterName, 'Allow --listen beyond loopback over plain HTTP (tokens then cross the network in clear)')
            [CompletionResult]::new('--metrics-public', '--metrics-public', [CompletionResultType]::ParameterName, 'Serve GET /metrics over --listen without a token (the rest of the API still needs one)')
            [CompletionResult]::new('--enforce-part-limits', '--enforce-part-limits', [CompletionResultType]::ParameterName, 'Refuse a job that asks for more CPUs than the node has (slurm.conf''s EnforcePartLimits)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
