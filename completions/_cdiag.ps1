
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'cdiag' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'cdiag'
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
        'cdiag' {
            [CompletionResult]::new('-M', '-M ', [CompletionResultType]::ParameterName, 'Clusters (there is one; accepted)')
            [CompletionResult]::new('--clusters', '--clusters', [CompletionResultType]::ParameterName, 'Clusters (there is one; accepted)')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Daemon to use: unix:/path, a socket path, http://host:port or https://host:port [env: CONDUCTOR_SERVER]')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Show everything (the default; accepted)')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Show everything (the default; accepted)')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Start every count again from now (root, the daemon''s user or an operator)')
            [CompletionResult]::new('--reset', '--reset', [CompletionResultType]::ParameterName, 'Start every count again from now (root, the daemon''s user or an operator)')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Sort the request tables by message type or uid')
            [CompletionResult]::new('--sort-by-id', '--sort-by-id', [CompletionResultType]::ParameterName, 'Sort the request tables by message type or uid')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Sort the request tables by total time')
            [CompletionResult]::new('--sort-by-time', '--sort-by-time', [CompletionResultType]::ParameterName, 'Sort the request tables by total time')
            [CompletionResult]::new('-T', '-T ', [CompletionResultType]::ParameterName, 'Sort the request tables by average time')
            [CompletionResult]::new('--sort-by-time2', '--sort-by-time2', [CompletionResultType]::ParameterName, 'Sort the request tables by average time')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the statistics as JSON')
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
