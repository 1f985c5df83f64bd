
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'cacct' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'cacct'
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
        'cacct' {
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Only these jobs: ID, ID_INDEX (array task) or ID.STEP (comma-separated, repeatable)')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Only these jobs: ID, ID_INDEX (array task) or ID.STEP (comma-separated, repeatable)')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Only jobs with these names (comma-separated)')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'Only jobs of these users (names or uids, comma-separated); default: you')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Only jobs of these users (names or uids, comma-separated); default: you')
            [CompletionResult]::new('--uid', '--uid', [CompletionResultType]::ParameterName, 'Only jobs of these users (names or uids, comma-separated); default: you')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Only jobs in these states (long or compact names, comma-separated)')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Only jobs in these states (long or compact names, comma-separated)')
            [CompletionResult]::new('-S', '-S ', [CompletionResultType]::ParameterName, 'Only jobs active at or after this time (default: midnight; all time with -j)')
            [CompletionResult]::new('--starttime', '--starttime', [CompletionResultType]::ParameterName, 'Only jobs active at or after this time (default: midnight; all time with -j)')
            [CompletionResult]::new('-E', '-E ', [CompletionResultType]::ParameterName, 'Only jobs active at or before this time (default: now)')
            [CompletionResult]::new('--endtime', '--endtime', [CompletionResultType]::ParameterName, 'Only jobs active at or before this time (default: now)')
            [CompletionResult]::new('--delimiter', '--delimiter', [CompletionResultType]::ParameterName, 'The separator of -p and -P instead of `|`')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Fields to print (see FIELDS below; repeatable)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Fields to print (see FIELDS below; repeatable)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print Slurm''s JSON (data_parser v0.0.40); =v0.0.39 or =v0.0.41 picks another, =conductor Conductor''s own {"jobs": [...]}')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'With --pretty: colour the states when (auto: on a terminal without NO_COLOR)')
            [CompletionResult]::new('-M', '-M ', [CompletionResultType]::ParameterName, 'Clusters to ask (accepted; there is one, this node)')
            [CompletionResult]::new('--clusters', '--clusters', [CompletionResultType]::ParameterName, 'Clusters to ask (accepted; there is one, this node)')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Only jobs of these partitions (comma-separated)')
            [CompletionResult]::new('--partition', '--partition', [CompletionResultType]::ParameterName, 'Only jobs of these partitions (comma-separated)')
            [CompletionResult]::new('--units', '--units', [CompletionResultType]::ParameterName, 'Show sizes in this unit: K, M, G, T or P')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Daemon to use: unix:/path, a socket path, http://host:port or https://host:port [env: CONDUCTOR_SERVER]')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Jobs of every user')
            [CompletionResult]::new('--allusers', '--allusers', [CompletionResultType]::ParameterName, 'Jobs of every user')
            [CompletionResult]::new('-X', '-X ', [CompletionResultType]::ParameterName, 'Only the job lines, no steps')
            [CompletionResult]::new('--allocations', '--allocations', [CompletionResultType]::ParameterName, 'Only the job lines, no steps')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Fields separated by `|`, none at the end of a line')
            [CompletionResult]::new('--parsable2', '--parsable2', [CompletionResultType]::ParameterName, 'Fields separated by `|`, none at the end of a line')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Fields separated by `|`, one at the end of each line too')
            [CompletionResult]::new('--parsable', '--parsable', [CompletionResultType]::ParameterName, 'Fields separated by `|`, one at the end of each line too')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Do not print the header')
            [CompletionResult]::new('--noheader', '--noheader', [CompletionResultType]::ParameterName, 'Do not print the header')
            [CompletionResult]::new('-b', '-b', [CompletionResultType]::ParameterName, 'Print JobID, State and ExitCode')
            [CompletionResult]::new('--brief', '--brief', [CompletionResultType]::ParameterName, 'Print JobID, State and ExitCode')
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'Print the long list of fields')
            [CompletionResult]::new('--long', '--long', [CompletionResultType]::ParameterName, 'Print the long list of fields')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'List the fields -o accepts')
            [CompletionResult]::new('--helpformat', '--helpformat', [CompletionResultType]::ParameterName, 'List the fields -o accepts')
            [CompletionResult]::new('--pretty', '--pretty', [CompletionResultType]::ParameterName, 'A table for people: fitted to the terminal, states in colour (not Slurm''s bytes)')
            [CompletionResult]::new('-L', '-L ', [CompletionResultType]::ParameterName, 'Every cluster (accepted; there is one, this node)')
            [CompletionResult]::new('--allclusters', '--allclusters', [CompletionResultType]::ParameterName, 'Every cluster (accepted; there is one, this node)')
            [CompletionResult]::new('--array', '--array', [CompletionResultType]::ParameterName, 'One line per array task, also for tasks not started yet')
            [CompletionResult]::new('--noconvert', '--noconvert', [CompletionResultType]::ParameterName, 'Show sizes in their raw unit (KiB, MiB)')
            [CompletionResult]::new('-T', '-T ', [CompletionResultType]::ParameterName, 'Clip Start and End to the -S/-E window')
            [CompletionResult]::new('--truncate', '--truncate', [CompletionResultType]::ParameterName, 'Clip Start and End to the -S/-E window')
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
