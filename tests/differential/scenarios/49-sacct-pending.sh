h=$(sbatch --parsable -H --wrap true)
b=$(sbatch --parsable -c 2 --wrap 'sleep 5'); wait_state "$b" RUNNING
p=$(sbatch --parsable -c 1 --wrap true)
sleep 2
echo held:; sacct -X -P -n -j "$h" -o JobID,State,ExitCode,AllocCPUS,NodeList,Start,End,Elapsed
echo waiting:; sacct -X -P -n -j "$p" -o JobID,State,ExitCode,AllocCPUS,NodeList,Start,End,Elapsed
squeue -h -j "$p" -o '%T|%r'
