
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
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Only these jobs (comma-separated ids)')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Only these jobs (comma-separated ids)')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'Only jobs of these users (comma-separated names or uids)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Only jobs of these users (comma-separated names or uids)')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Only jobs in these states (PD,R,CD,F,CA,TO or long names), or `all`')
            [CompletionResult]::new('--states', '--states', [CompletionResultType]::ParameterName, 'Only jobs in these states (PD,R,CD,F,CA,TO or long names), or `all`')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format (see FORMAT below)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format (see FORMAT below)')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Daemon to use: unix:/path, a socket path, or http://host:port [env: CONDUCTOR_SERVER]')
            [CompletionResult]::new('--me', '--me', [CompletionResultType]::ParameterName, 'Only my jobs')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Do not print the header line')
            [CompletionResult]::new('--noheader', '--noheader', [CompletionResultType]::ParameterName, 'Do not print the header line')
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'squeue''s long layout (long state names and time limits)')
            [CompletionResult]::new('--long', '--long', [CompletionResultType]::ParameterName, 'squeue''s long layout (long state names and time limits)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the jobs as a JSON array')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
