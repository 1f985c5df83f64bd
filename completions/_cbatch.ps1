
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'cbatch' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'cbatch'
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
        'cbatch' {
            [CompletionResult]::new('-J', '-J ', [CompletionResultType]::ParameterName, 'Job name [default: the script''s file name; `sbatch` for stdin; `wrap` for --wrap]')
            [CompletionResult]::new('--job-name', '--job-name', [CompletionResultType]::ParameterName, 'Job name [default: the script''s file name; `sbatch` for stdin; `wrap` for --wrap]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'File for the job''s stdout, with %j %J %A %a %x %u %N %% patterns [default: slurm-%j.out]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'File for the job''s stdout, with %j %J %A %a %x %u %N %% patterns [default: slurm-%j.out]')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'File for the job''s stderr [default: the stdout file]')
            [CompletionResult]::new('--error', '--error', [CompletionResultType]::ParameterName, 'File for the job''s stderr [default: the stdout file]')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'File for the job''s stdin [default: /dev/null]')
            [CompletionResult]::new('--input', '--input', [CompletionResultType]::ParameterName, 'File for the job''s stdin [default: /dev/null]')
            [CompletionResult]::new('--open-mode', '--open-mode', [CompletionResultType]::ParameterName, 'Truncate or append to the output files: truncate (default) or append')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'CPUs per task')
            [CompletionResult]::new('--cpus-per-task', '--cpus-per-task', [CompletionResultType]::ParameterName, 'CPUs per task')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Number of tasks; CPUs allocated = ntasks × cpus-per-task')
            [CompletionResult]::new('--ntasks', '--ntasks', [CompletionResultType]::ParameterName, 'Number of tasks; CPUs allocated = ntasks × cpus-per-task')
            [CompletionResult]::new('--ntasks-per-node', '--ntasks-per-node', [CompletionResultType]::ParameterName, 'Tasks per node; on one node, the number of tasks')
            [CompletionResult]::new('-N', '-N ', [CompletionResultType]::ParameterName, 'Nodes: 1 (or 1-N) is all a single node can give')
            [CompletionResult]::new('--nodes', '--nodes', [CompletionResultType]::ParameterName, 'Nodes: 1 (or 1-N) is all a single node can give')
            [CompletionResult]::new('--mem', '--mem', [CompletionResultType]::ParameterName, 'Memory for the job: 500M, 4G, or MiB as a plain number; 0 = all of the node')
            [CompletionResult]::new('--mem-per-cpu', '--mem-per-cpu', [CompletionResultType]::ParameterName, 'Memory per allocated CPU')
            [CompletionResult]::new('--mem-per-gpu', '--mem-per-gpu', [CompletionResultType]::ParameterName, 'Memory per GPU (recorded)')
            [CompletionResult]::new('-G', '-G ', [CompletionResultType]::ParameterName, 'GPUs for the job: N or TYPE:N')
            [CompletionResult]::new('--gpus', '--gpus', [CompletionResultType]::ParameterName, 'GPUs for the job: N or TYPE:N')
            [CompletionResult]::new('--gpus-per-node', '--gpus-per-node', [CompletionResultType]::ParameterName, 'GPUs per node: N or TYPE:N')
            [CompletionResult]::new('--gpus-per-task', '--gpus-per-task', [CompletionResultType]::ParameterName, 'GPUs per task: N or TYPE:N')
            [CompletionResult]::new('--gres', '--gres', [CompletionResultType]::ParameterName, 'Generic resources: gpu, gpu:N or gpu:TYPE:N')
            [CompletionResult]::new('--cpus-per-gpu', '--cpus-per-gpu', [CompletionResultType]::ParameterName, 'CPUs per GPU (recorded)')
            [CompletionResult]::new('--exclusive', '--exclusive', [CompletionResultType]::ParameterName, 'Take the whole node''s CPUs and GPUs')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Time limit: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS or UNLIMITED')
            [CompletionResult]::new('--time', '--time', [CompletionResultType]::ParameterName, 'Time limit: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS or UNLIMITED')
            [CompletionResult]::new('--time-min', '--time-min', [CompletionResultType]::ParameterName, 'Minimum time limit (recorded)')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Partition [default: the node''s one partition]')
            [CompletionResult]::new('--partition', '--partition', [CompletionResultType]::ParameterName, 'Partition [default: the node''s one partition]')
            [CompletionResult]::new('-D', '-D ', [CompletionResultType]::ParameterName, 'Working directory of the job [default: the current directory]')
            [CompletionResult]::new('--chdir', '--chdir', [CompletionResultType]::ParameterName, 'Working directory of the job [default: the current directory]')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Job array indices: 0-9, 1,3,5, 1-9:2, with %N to run at most N at once')
            [CompletionResult]::new('--array', '--array', [CompletionResultType]::ParameterName, 'Job array indices: 0-9, 1,3,5, 1-9:2, with %N to run at most N at once')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Start only after these jobs: afterok:ID[:ID], afterany, afternotok, after[+min], singleton; '','' = all, ''?'' = any')
            [CompletionResult]::new('--dependency', '--dependency', [CompletionResultType]::ParameterName, 'Start only after these jobs: afterok:ID[:ID], afterany, afternotok, after[+min], singleton; '','' = all, ''?'' = any')
            [CompletionResult]::new('--kill-on-invalid-dep', '--kill-on-invalid-dep', [CompletionResultType]::ParameterName, 'Cancel the job when its dependency can never be satisfied: yes or no')
            [CompletionResult]::new('-b', '-b', [CompletionResultType]::ParameterName, 'Start no earlier than: now+1hour, 16:00, 2026-12-24T08:00, tomorrow, ...')
            [CompletionResult]::new('--begin', '--begin', [CompletionResultType]::ParameterName, 'Start no earlier than: now+1hour, 16:00, 2026-12-24T08:00, tomorrow, ...')
            [CompletionResult]::new('--export', '--export', [CompletionResultType]::ParameterName, 'Environment given to the job: ALL (default), NONE, or [ALL,]VAR[=value],...')
            [CompletionResult]::new('--export-file', '--export-file', [CompletionResultType]::ParameterName, 'File of NUL-separated NAME=value pairs added to the job''s environment')
            [CompletionResult]::new('--nice', '--nice', [CompletionResultType]::ParameterName, 'Lower the job''s priority by this much (default 100)')
            [CompletionResult]::new('--priority', '--priority', [CompletionResultType]::ParameterName, 'Requested priority (recorded)')
            [CompletionResult]::new('--signal', '--signal', [CompletionResultType]::ParameterName, 'Signal to send before the time limit: [B:]SIG[@SECONDS] (default 60 s)')
            [CompletionResult]::new('--comment', '--comment', [CompletionResultType]::ParameterName, 'A comment kept with the job')
            [CompletionResult]::new('-A', '-A ', [CompletionResultType]::ParameterName, 'Account (recorded)')
            [CompletionResult]::new('--account', '--account', [CompletionResultType]::ParameterName, 'Account (recorded)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Quality of service (recorded)')
            [CompletionResult]::new('--qos', '--qos', [CompletionResultType]::ParameterName, 'Quality of service (recorded)')
            [CompletionResult]::new('--wckey', '--wckey', [CompletionResultType]::ParameterName, 'Workload characterization key (recorded)')
            [CompletionResult]::new('-M', '-M ', [CompletionResultType]::ParameterName, 'Clusters (recorded; there is one)')
            [CompletionResult]::new('--clusters', '--clusters', [CompletionResultType]::ParameterName, 'Clusters (recorded; there is one)')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Required node features (recorded)')
            [CompletionResult]::new('--constraint', '--constraint', [CompletionResultType]::ParameterName, 'Required node features (recorded)')
            [CompletionResult]::new('-x', '-x', [CompletionResultType]::ParameterName, 'Nodes to avoid (recorded)')
            [CompletionResult]::new('--exclude', '--exclude', [CompletionResultType]::ParameterName, 'Nodes to avoid (recorded)')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Nodes to use (recorded)')
            [CompletionResult]::new('--nodelist', '--nodelist', [CompletionResultType]::ParameterName, 'Nodes to use (recorded)')
            [CompletionResult]::new('--reservation', '--reservation', [CompletionResultType]::ParameterName, 'Reservation (recorded)')
            [CompletionResult]::new('--mail-type', '--mail-type', [CompletionResultType]::ParameterName, 'Mail events (recorded; no mail is sent)')
            [CompletionResult]::new('--mail-user', '--mail-user', [CompletionResultType]::ParameterName, 'Mail recipient (recorded; no mail is sent)')
            [CompletionResult]::new('--propagate', '--propagate', [CompletionResultType]::ParameterName, 'Resource limits to propagate (recorded)')
            [CompletionResult]::new('--get-user-env', '--get-user-env', [CompletionResultType]::ParameterName, 'Load the user''s login environment (recorded)')
            [CompletionResult]::new('--wrap', '--wrap', [CompletionResultType]::ParameterName, 'Run this shell command as the job''s script')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Daemon to use: unix:/path, a socket path, http://host:port or https://host:port [env: CONDUCTOR_SERVER]')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Submit the job held; `ccontrol release` lets it run')
            [CompletionResult]::new('--hold', '--hold', [CompletionResultType]::ParameterName, 'Submit the job held; `ccontrol release` lets it run')
            [CompletionResult]::new('--requeue', '--requeue', [CompletionResultType]::ParameterName, 'Let the job be requeued (recorded)')
            [CompletionResult]::new('--no-requeue', '--no-requeue', [CompletionResultType]::ParameterName, 'Do not requeue the job (recorded)')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Share the node with other jobs (recorded)')
            [CompletionResult]::new('--oversubscribe', '--oversubscribe', [CompletionResultType]::ParameterName, 'Share the node with other jobs (recorded)')
            [CompletionResult]::new('--test-only', '--test-only', [CompletionResultType]::ParameterName, 'Check the job and say when it would start; submit nothing')
            [CompletionResult]::new('--parsable', '--parsable', [CompletionResultType]::ParameterName, 'Print only the job id')
            [CompletionResult]::new('-Q', '-Q ', [CompletionResultType]::ParameterName, 'Print nothing on success')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More messages (accepted)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More messages (accepted)')
            [CompletionResult]::new('-W', '-W ', [CompletionResultType]::ParameterName, 'Wait for the job to end; exit with its exit code (1 if a signal ended it)')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Wait for the job to end; exit with its exit code (1 if a signal ended it)')
            [CompletionResult]::new('--follow', '--follow', [CompletionResultType]::ParameterName, 'Wait as --wait does, printing the job''s output as it writes it (Conductor''s own; see clog)')
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
