
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'cshare' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'cshare'
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
        'cshare' {
            [CompletionResult]::new('-A', '-A ', [CompletionResultType]::ParameterName, 'Accounts to show (there is one, root; accepted)')
            [CompletionResult]::new('--accounts', '--accounts', [CompletionResultType]::ParameterName, 'Accounts to show (there is one, root; accepted)')
            [CompletionResult]::new('-M', '-M ', [CompletionResultType]::ParameterName, 'Clusters (there is one; accepted)')
            [CompletionResult]::new('--clusters', '--clusters', [CompletionResultType]::ParameterName, 'Clusters (there is one; accepted)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Fields to show (see FIELDS below)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Fields to show (see FIELDS below)')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'Only these users (comma-separated names; -1 is every user)')
            [CompletionResult]::new('--users', '--users', [CompletionResultType]::ParameterName, 'Only these users (comma-separated names; -1 is every user)')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Daemon to use: unix:/path, a socket path, http://host:port or https://host:port [env: CONDUCTOR_SERVER]')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Show every user')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Show every user')
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'Show the long layout (NormUsage and the TRES columns too)')
            [CompletionResult]::new('--long', '--long', [CompletionResultType]::ParameterName, 'Show the long layout (NormUsage and the TRES columns too)')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Do not print the header')
            [CompletionResult]::new('--noheader', '--noheader', [CompletionResultType]::ParameterName, 'Do not print the header')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Parsable: fields separated by ''|'', one at the end of each line too')
            [CompletionResult]::new('--parsable', '--parsable', [CompletionResultType]::ParameterName, 'Parsable: fields separated by ''|'', one at the end of each line too')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Parsable: fields separated by ''|'', none at the end')
            [CompletionResult]::new('--parsable2', '--parsable2', [CompletionResultType]::ParameterName, 'Parsable: fields separated by ''|'', none at the end')
            [CompletionResult]::new('-U', '-U ', [CompletionResultType]::ParameterName, 'Show the users'' lines only, not the account''s')
            [CompletionResult]::new('--Users', '--Users', [CompletionResultType]::ParameterName, 'Show the users'' lines only, not the account''s')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
