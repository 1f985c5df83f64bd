sinfo -l; echo "rc=$?"
sinfo -N -l | sed -E 's/ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +/ MEM /'; echo "rc=$?"
