
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'cinfo' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'cinfo'
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
        'cinfo' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format (see FORMAT below)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format (see FORMAT below)')
            [CompletionResult]::new('-O', '-O ', [CompletionResultType]::ParameterName, 'Output by field names, e.g. partition,nodes:.6,statecompact (name[:[.]size])')
            [CompletionResult]::new('--Format', '--Format', [CompletionResultType]::ParameterName, 'Output by field names, e.g. partition,nodes:.6,statecompact (name[:[.]size])')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Only these partitions (comma-separated)')
            [CompletionResult]::new('--partition', '--partition', [CompletionResultType]::ParameterName, 'Only these partitions (comma-separated)')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Only these nodes (a hostlist: n[1-3,5],gpu01)')
            [CompletionResult]::new('--nodes', '--nodes', [CompletionResultType]::ParameterName, 'Only these nodes (a hostlist: n[1-3,5],gpu01)')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Only nodes in these states (idle, mix, alloc, ...; comma-separated)')
            [CompletionResult]::new('--states', '--states', [CompletionResultType]::ParameterName, 'Only nodes in these states (idle, mix, alloc, ...; comma-separated)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print Slurm''s JSON (data_parser v0.0.40); =v0.0.39 or =v0.0.41 picks another, =conductor the node as the API gives it')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'With --pretty: colour the states when (auto: on a terminal without NO_COLOR)')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Daemon to use: unix:/path, a socket path, http://host:port or https://host:port [env: CONDUCTOR_SERVER]')
            [CompletionResult]::new('-N', '-N ', [CompletionResultType]::ParameterName, 'One line per node rather than per partition')
            [CompletionResult]::new('--Node', '--Node', [CompletionResultType]::ParameterName, 'One line per node rather than per partition')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Do not print the header line')
            [CompletionResult]::new('--noheader', '--noheader', [CompletionResultType]::ParameterName, 'Do not print the header line')
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'sinfo''s long layout, after a line with the date')
            [CompletionResult]::new('--long', '--long', [CompletionResultType]::ParameterName, 'sinfo''s long layout, after a line with the date')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Summarize the partition: node counts as allocated/idle/other/total')
            [CompletionResult]::new('--summarize', '--summarize', [CompletionResultType]::ParameterName, 'Summarize the partition: node counts as allocated/idle/other/total')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Group nodes only when their CPUs, memory and load agree too')
            [CompletionResult]::new('--exact', '--exact', [CompletionResultType]::ParameterName, 'Group nodes only when their CPUs, memory and load agree too')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Accepted for compatibility: the node always responds')
            [CompletionResult]::new('--responding', '--responding', [CompletionResultType]::ParameterName, 'Accepted for compatibility: the node always responds')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Accepted for compatibility: every partition is shown')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Accepted for compatibility: every partition is shown')
            [CompletionResult]::new('--pretty', '--pretty', [CompletionResultType]::ParameterName, 'A table for people: fitted to the terminal, states in colour (not Slurm''s bytes)')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
