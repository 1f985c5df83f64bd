j=$(sbatch --parsable -J acctjob --wrap 'true')
wait_done "$j"
sacct -X -P -n -j "$j" -o JobID,JobName,Partition,State,ExitCode,AllocCPUS,NNodes; echo "rc=$?"
sacct -j "$j" -o NoSuchField; echo "rc=$?"
sacct -j 99999; echo "rc=$?"
sacct -X -j "$j" -o JobID,State,ExitCode; echo "rc=$?"
