j=$(sbatch --parsable -J donejob --wrap 'exit 5')
wait_done "$j"
scontrol show job "$j" | grep -oE '(JobState|Reason|Restarts|ExitCode|DerivedExitCode|RunTime|NodeList)=[^ ]*'
