
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'cprio' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'cprio'
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
        'cprio' {
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Only these jobs (comma-separated ids)')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Only these jobs (comma-separated ids)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format (see FORMAT below)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format (see FORMAT below)')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Only jobs in these partitions (comma-separated)')
            [CompletionResult]::new('--partition', '--partition', [CompletionResultType]::ParameterName, 'Only jobs in these partitions (comma-separated)')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'Only the jobs of these users (comma-separated names)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Only the jobs of these users (comma-separated names)')
            [CompletionResult]::new('-M', '-M ', [CompletionResultType]::ParameterName, 'Clusters (there is one; accepted)')
            [CompletionResult]::new('--clusters', '--clusters', [CompletionResultType]::ParameterName, 'Clusters (there is one; accepted)')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Daemon to use: unix:/path, a socket path, http://host:port or https://host:port [env: CONDUCTOR_SERVER]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Do not print the header')
            [CompletionResult]::new('--noheader', '--noheader', [CompletionResultType]::ParameterName, 'Do not print the header')
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'Show every factor, with the user and nice')
            [CompletionResult]::new('--long', '--long', [CompletionResultType]::ParameterName, 'Show every factor, with the user and nice')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Show the factors normalized (0 to 1) rather than weighted')
            [CompletionResult]::new('--norm', '--norm', [CompletionResultType]::ParameterName, 'Show the factors normalized (0 to 1) rather than weighted')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Print the configured weight of each factor')
            [CompletionResult]::new('--weights', '--weights', [CompletionResultType]::ParameterName, 'Print the configured weight of each factor')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
