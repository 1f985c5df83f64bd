
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'cqueue' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'cqueue'
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
        'cqueue' {
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Only these jobs: ids or array tasks (12, 12_3), comma-separated')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Only these jobs: ids or array tasks (12, 12_3), comma-separated')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'Only jobs of these users (comma-separated names or uids)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Only jobs of these users (comma-separated names or uids)')
            [CompletionResult]::new('--users', '--users', [CompletionResultType]::ParameterName, 'Only jobs of these users (comma-separated names or uids)')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Only jobs with these names (comma-separated)')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Only jobs with these names (comma-separated)')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Only jobs in these partitions (comma-separated)')
            [CompletionResult]::new('--partition', '--partition', [CompletionResultType]::ParameterName, 'Only jobs in these partitions (comma-separated)')
            [CompletionResult]::new('--partitions', '--partitions', [CompletionResultType]::ParameterName, 'Only jobs in these partitions (comma-separated)')
            [CompletionResult]::new('-A', '-A ', [CompletionResultType]::ParameterName, 'Only jobs charged to these accounts (comma-separated)')
            [CompletionResult]::new('--account', '--account', [CompletionResultType]::ParameterName, 'Only jobs charged to these accounts (comma-separated)')
            [CompletionResult]::new('--accounts', '--accounts', [CompletionResultType]::ParameterName, 'Only jobs charged to these accounts (comma-separated)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only jobs with these QOS (comma-separated)')
            [CompletionResult]::new('--qos', '--qos', [CompletionResultType]::ParameterName, 'Only jobs with these QOS (comma-separated)')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Only jobs running on these nodes (comma-separated)')
            [CompletionResult]::new('--nodelist', '--nodelist', [CompletionResultType]::ParameterName, 'Only jobs running on these nodes (comma-separated)')
            [CompletionResult]::new('--nodes', '--nodes', [CompletionResultType]::ParameterName, 'Only jobs running on these nodes (comma-separated)')
            [CompletionResult]::new('--node', '--node', [CompletionResultType]::ParameterName, 'Only jobs running on these nodes (comma-separated)')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Only jobs in these states (PD,R,CD,F,CA,TO,OOM,NF or long names), or `all`')
            [CompletionResult]::new('--states', '--states', [CompletionResultType]::ParameterName, 'Only jobs in these states (PD,R,CD,F,CA,TO,OOM,NF or long names), or `all`')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Only jobs in these states (PD,R,CD,F,CA,TO,OOM,NF or long names), or `all`')
            [CompletionResult]::new('-S', '-S ', [CompletionResultType]::ParameterName, 'Sort by these fields: letters of -o, `-` for descending (default P,t,-p)')
            [CompletionResult]::new('--sort', '--sort', [CompletionResultType]::ParameterName, 'Sort by these fields: letters of -o, `-` for descending (default P,t,-p)')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Print again every SECONDS, with the date before each header, until interrupted')
            [CompletionResult]::new('--iterate', '--iterate', [CompletionResultType]::ParameterName, 'Print again every SECONDS, with the date before each header, until interrupted')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format (see FORMAT (-o) below)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format (see FORMAT (-o) below)')
            [CompletionResult]::new('-O', '-O ', [CompletionResultType]::ParameterName, 'Output format by field names (see FORMAT (-O) below)')
            [CompletionResult]::new('--Format', '--Format', [CompletionResultType]::ParameterName, 'Output format by field names (see FORMAT (-O) below)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print Slurm''s JSON (data_parser v0.0.40); =v0.0.39 or =v0.0.41 picks another, =conductor Conductor''s own job array')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'With --pretty: colour the states when (auto: on a terminal without NO_COLOR)')
            [CompletionResult]::new('-M', '-M ', [CompletionResultType]::ParameterName, 'Clusters to ask (accepted; there is one)')
            [CompletionResult]::new('--clusters', '--clusters', [CompletionResultType]::ParameterName, 'Clusters to ask (accepted; there is one)')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'Clusters to ask (accepted; there is one)')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Daemon to use: unix:/path, a socket path, http://host:port or https://host:port [env: CONDUCTOR_SERVER]')
            [CompletionResult]::new('--me', '--me', [CompletionResultType]::ParameterName, 'Only my jobs')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'One line per array task, instead of one line for an array''s pending tasks')
            [CompletionResult]::new('--array', '--array', [CompletionResultType]::ParameterName, 'One line per array task, instead of one line for an array''s pending tasks')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Do not print the header line (nor the date line)')
            [CompletionResult]::new('--noheader', '--noheader', [CompletionResultType]::ParameterName, 'Do not print the header line (nor the date line)')
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'squeue''s long layout (long state names, time limits), after a date line')
            [CompletionResult]::new('--long', '--long', [CompletionResultType]::ParameterName, 'squeue''s long layout (long state names, time limits), after a date line')
            [CompletionResult]::new('--start', '--start', [CompletionResultType]::ParameterName, 'Pending jobs and when they start (squeue --start)')
            [CompletionResult]::new('--pretty', '--pretty', [CompletionResultType]::ParameterName, 'A table for people: fitted to the terminal, states in colour (not Slurm''s bytes)')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Also jobs of hidden partitions (there are none; accepted)')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Also jobs of hidden partitions (there are none; accepted)')
            [CompletionResult]::new('--only-job-state', '--only-job-state', [CompletionResultType]::ParameterName, 'Only job ids and states, for a quick status query (Nextflow); default format "%.18i %.2t"')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
