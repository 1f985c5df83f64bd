printf 'echo no shebang\n' > s.sh
sbatch s.sh; echo "rc=$?"
