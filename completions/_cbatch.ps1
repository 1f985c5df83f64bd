
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
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'File for the job''s stdout, with %j %x %u %% patterns [default: slurm-%j.out]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'File for the job''s stdout, with %j %x %u %% patterns [default: slurm-%j.out]')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'File for the job''s stderr [default: the stdout file]')
            [CompletionResult]::new('--error', '--error', [CompletionResultType]::ParameterName, 'File for the job''s stderr [default: the stdout file]')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'CPUs per task')
            [CompletionResult]::new('--cpus-per-task', '--cpus-per-task', [CompletionResultType]::ParameterName, 'CPUs per task')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Number of tasks; CPUs allocated = ntasks × cpus-per-task')
            [CompletionResult]::new('--ntasks', '--ntasks', [CompletionResultType]::ParameterName, 'Number of tasks; CPUs allocated = ntasks × cpus-per-task')
            [CompletionResult]::new('--mem', '--mem', [CompletionResultType]::ParameterName, 'Memory for the job: 500M, 4G, or MiB as a plain number; 0 = all of the node')
            [CompletionResult]::new('-G', '-G ', [CompletionResultType]::ParameterName, 'GPUs for the job')
            [CompletionResult]::new('--gpus', '--gpus', [CompletionResultType]::ParameterName, 'GPUs for the job')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Time limit: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS or UNLIMITED')
            [CompletionResult]::new('--time', '--time', [CompletionResultType]::ParameterName, 'Time limit: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS or UNLIMITED')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Partition [default: the node''s one partition]')
            [CompletionResult]::new('--partition', '--partition', [CompletionResultType]::ParameterName, 'Partition [default: the node''s one partition]')
            [CompletionResult]::new('-D', '-D ', [CompletionResultType]::ParameterName, 'Working directory of the job [default: the current directory]')
            [CompletionResult]::new('--chdir', '--chdir', [CompletionResultType]::ParameterName, 'Working directory of the job [default: the current directory]')
            [CompletionResult]::new('--wrap', '--wrap', [CompletionResultType]::ParameterName, 'Run this shell command as the job''s script')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Daemon to use: unix:/path, a socket path, or http://host:port [env: CONDUCTOR_SERVER]')
            [CompletionResult]::new('--parsable', '--parsable', [CompletionResultType]::ParameterName, 'Print only the job id')
            [CompletionResult]::new('-W', '-W ', [CompletionResultType]::ParameterName, 'Wait for the job to end; exit with its exit code (1 if a signal ended it)')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Wait for the job to end; exit with its exit code (1 if a signal ended it)')
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
