j=$(sbatch --parsable -J runjob --wrap 'sleep 8')
wait_state "$j" RUNNING
scontrol show job "$j" | grep -oE '(JobState|Reason|Restarts|BatchFlag|ExitCode|NodeList|BatchHost|NumCPUs|Command|WorkDir)=[^ ]*'
scancel "$j"
