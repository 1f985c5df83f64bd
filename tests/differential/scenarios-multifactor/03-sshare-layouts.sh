# sshare's layouts for the one user (root account over the user); RawUsage masked (it depends
# on what ran before), the long layout's TRES columns cut off.
# timeout: 120
warm_usage >/dev/null
raw() { sed -E 's/^(.{55}) *[0-9]+ /\1   RAWUSAGE /'; }
rawp() { awk -F'|' -v OFS='|' -v c="$1" '{ if ($c ~ /^[0-9]+$/) $c = "RAWUSAGE"; print }'; }
sshare | raw; echo "rc=$?"
sshare -a | raw; echo "rc=$?"
sshare -l | raw | cut -c 1-104; echo "rc=$?"
sshare -P | rawp 5; echo "rc=$?"
sshare -p | rawp 5; echo "rc=$?"
sshare -n -P -o account,fairshare; echo "rc=$?"
sshare -U | raw; echo "rc=$?"
sshare -u "$(id -un)" | raw; echo "rc=$?"
sshare -u nobody | raw; echo "rc=$?"
sshare -a -P -o Account,User,RawShares,NormShares,NormUsage,EffectvUsage,LevelFS,FairShare; echo "rc=$?"
sshare -o account%8,fairshare%6,u; echo "rc=$?"
sshare -o bogus; echo "rc=$?"
