j=$(sbatch --parsable -H -J fmtjob -t 7 -c 1 --wrap true)
squeue -j "$j" -o '%i %j %t %T %r %l %C %D %P %u %a %p %Q %N %b %m %c %E %h %O'; echo "rc=$?"
squeue -j "$j" -o '%.10i|%-10j|%5t|%.8T'; echo "rc=$?"
squeue -j "$j" -o '%-10j'; echo "rc=$?"
