
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'ccontrol' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'ccontrol'
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
        'ccontrol' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'show job/node: print Slurm''s JSON (data_parser v0.0.40); =v0.0.39 or =v0.0.41 picks another')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Daemon to use: unix:/path, a socket path, http://host:port or https://host:port [env: CONDUCTOR_SERVER]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Print each record on one line')
            [CompletionResult]::new('--oneliner', '--oneliner', [CompletionResultType]::ParameterName, 'Print each record on one line')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Show more details (the exit code of the job''s steps, CPU ids)')
            [CompletionResult]::new('--details', '--details', [CompletionResultType]::ParameterName, 'Show more details (the exit code of the job''s steps, CPU ids)')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Accepted for compatibility: everything is always shown')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Accepted for compatibility: everything is always shown')
            [CompletionResult]::new('-Q', '-Q ', [CompletionResultType]::ParameterName, 'Accepted for compatibility: errors are still printed')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Accepted for compatibility: errors are still printed')
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
