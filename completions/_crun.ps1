
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'crun' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'crun'
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
        'crun' {
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Number of copies (tasks) to run [default: the job''s tasks, SLURM_NTASKS]')
            [CompletionResult]::new('--ntasks', '--ntasks', [CompletionResultType]::ParameterName, 'Number of copies (tasks) to run [default: the job''s tasks, SLURM_NTASKS]')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'CPUs per task [default: SLURM_CPUS_PER_TASK, else 1]')
            [CompletionResult]::new('--cpus-per-task', '--cpus-per-task', [CompletionResultType]::ParameterName, 'CPUs per task [default: SLURM_CPUS_PER_TASK, else 1]')
            [CompletionResult]::new('--mem', '--mem', [CompletionResultType]::ParameterName, 'Memory (a new job only)')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Time limit (a new job only)')
            [CompletionResult]::new('--time', '--time', [CompletionResultType]::ParameterName, 'Time limit (a new job only)')
            [CompletionResult]::new('-J', '-J ', [CompletionResultType]::ParameterName, 'Job name (a new job only)')
            [CompletionResult]::new('--job-name', '--job-name', [CompletionResultType]::ParameterName, 'Job name (a new job only)')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Partition (a new job only)')
            [CompletionResult]::new('--partition', '--partition', [CompletionResultType]::ParameterName, 'Partition (a new job only)')
            [CompletionResult]::new('-D', '-D ', [CompletionResultType]::ParameterName, 'Working directory')
            [CompletionResult]::new('--chdir', '--chdir', [CompletionResultType]::ParameterName, 'Working directory')
            [CompletionResult]::new('-G', '-G ', [CompletionResultType]::ParameterName, 'GPUs (a new job only)')
            [CompletionResult]::new('--gpus', '--gpus', [CompletionResultType]::ParameterName, 'GPUs (a new job only)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'File for each task''s stdout, with %j %t %s %N %% patterns [default: the terminal]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'File for each task''s stdout, with %j %t %s %N %% patterns [default: the terminal]')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'File for each task''s stderr [default: the terminal]')
            [CompletionResult]::new('--error', '--error', [CompletionResultType]::ParameterName, 'File for each task''s stderr [default: the terminal]')
            [CompletionResult]::new('-N', '-N ', [CompletionResultType]::ParameterName, 'Nodes, MIN[-MAX]: the job''s one node is all there is')
            [CompletionResult]::new('--nodes', '--nodes', [CompletionResultType]::ParameterName, 'Nodes, MIN[-MAX]: the job''s one node is all there is')
            [CompletionResult]::new('--ntasks-per-node', '--ntasks-per-node', [CompletionResultType]::ParameterName, 'Tasks per node (ignored, with srun''s warning, where -n says otherwise)')
            [CompletionResult]::new('-K', '-K ', [CompletionResultType]::ParameterName, 'End the step when a task exits non-zero or is killed (0 turns it off)')
            [CompletionResult]::new('--kill-on-bad-exit', '--kill-on-bad-exit', [CompletionResultType]::ParameterName, 'End the step when a task exits non-zero or is killed (0 turns it off)')
            [CompletionResult]::new('-W', '-W ', [CompletionResultType]::ParameterName, 'Kill the other tasks this many seconds after the first one ends (0: never)')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Kill the other tasks this many seconds after the first one ends (0: never)')
            [CompletionResult]::new('--cpu-bind', '--cpu-bind', [CompletionResultType]::ParameterName, 'Bind tasks to CPUs (accepted)')
            [CompletionResult]::new('--export', '--export', [CompletionResultType]::ParameterName, 'Environment for the tasks (accepted; the job''s environment is used)')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Daemon to use: unix:/path, a socket path, http://host:port or https://host:port [env: CONDUCTOR_SERVER]')
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'Put the task number in front of each line of output and errors (`0: `)')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'Put the task number in front of each line of output and errors (`0: `)')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'Do not buffer output (crun never does; accepted)')
            [CompletionResult]::new('--unbuffered', '--unbuffered', [CompletionResultType]::ParameterName, 'Do not buffer output (crun never does; accepted)')
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
