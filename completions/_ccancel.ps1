
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'ccancel' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'ccancel'
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
        'ccancel' {
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Send this signal instead of cancelling: a name (USR1, SIGUSR1) or a number')
            [CompletionResult]::new('--signal', '--signal', [CompletionResultType]::ParameterName, 'Send this signal instead of cancelling: a name (USR1, SIGUSR1) or a number')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'Only jobs of this user (name or uid)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Only jobs of this user (name or uid)')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Only jobs with this name (comma-separated names)')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Only jobs with this name (comma-separated names)')
            [CompletionResult]::new('--jobname', '--jobname', [CompletionResultType]::ParameterName, 'Only jobs with this name (comma-separated names)')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Only jobs in this state (PENDING, RUNNING or SUSPENDED)')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Only jobs in this state (PENDING, RUNNING or SUSPENDED)')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Only jobs in this partition (comma-separated)')
            [CompletionResult]::new('--partition', '--partition', [CompletionResultType]::ParameterName, 'Only jobs in this partition (comma-separated)')
            [CompletionResult]::new('-A', '-A ', [CompletionResultType]::ParameterName, 'Only jobs charged to this account')
            [CompletionResult]::new('--account', '--account', [CompletionResultType]::ParameterName, 'Only jobs charged to this account')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only jobs with this QOS')
            [CompletionResult]::new('--qos', '--qos', [CompletionResultType]::ParameterName, 'Only jobs with this QOS')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Only jobs running on these nodes (comma-separated)')
            [CompletionResult]::new('--nodelist', '--nodelist', [CompletionResultType]::ParameterName, 'Only jobs running on these nodes (comma-separated)')
            [CompletionResult]::new('-R', '-R ', [CompletionResultType]::ParameterName, 'Only jobs in this reservation (there are no reservations: nothing matches)')
            [CompletionResult]::new('--reservation', '--reservation', [CompletionResultType]::ParameterName, 'Only jobs in this reservation (there are no reservations: nothing matches)')
            [CompletionResult]::new('--wckey', '--wckey', [CompletionResultType]::ParameterName, 'Only jobs with this wckey')
            [CompletionResult]::new('-M', '-M ', [CompletionResultType]::ParameterName, 'Clusters to act on (accepted; there is one)')
            [CompletionResult]::new('--clusters', '--clusters', [CompletionResultType]::ParameterName, 'Clusters to act on (accepted; there is one)')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'Clusters to act on (accepted; there is one)')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Daemon to use: unix:/path, a socket path, http://host:port or https://host:port [env: CONDUCTOR_SERVER]')
            [CompletionResult]::new('-b', '-b', [CompletionResultType]::ParameterName, 'Signal only the batch shell, not the other processes of the job')
            [CompletionResult]::new('--batch', '--batch', [CompletionResultType]::ParameterName, 'Signal only the batch shell, not the other processes of the job')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Signal every process of the job: the batch shell, its children and the steps')
            [CompletionResult]::new('--full', '--full', [CompletionResultType]::ParameterName, 'Signal every process of the job: the batch shell, its children and the steps')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Ask before each job (`Cancel job_id=... [y/n]? ` on stderr, answer on stdin)')
            [CompletionResult]::new('--interactive', '--interactive', [CompletionResultType]::ParameterName, 'Ask before each job (`Cancel job_id=... [y/n]? ` on stderr, answer on stdin)')
            [CompletionResult]::new('--me', '--me', [CompletionResultType]::ParameterName, 'Only my jobs')
            [CompletionResult]::new('-Q', '-Q ', [CompletionResultType]::ParameterName, 'Do not report ids that are not active jobs (the exit status still does)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Do not report ids that are not active jobs (the exit status still does)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say what is done to each job, on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say what is done to each job, on stderr')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Skip burst buffer stage-out (accepted; there are no burst buffers)')
            [CompletionResult]::new('--hurry', '--hurry', [CompletionResultType]::ParameterName, 'Skip burst buffer stage-out (accepted; there are no burst buffers)')
            [CompletionResult]::new('--ctld', '--ctld', [CompletionResultType]::ParameterName, 'Send the request through the controller (accepted; it always is)')
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
