j=$(sbatch --parsable -H -J jsonjob --wrap true)
squeue --json -j "$j" >out.json 2>err; echo "rc=$?"; head -3 err
J=$j python3 -c '
import json,os
d=json.load(open("out.json")); print("top:", type(d).__name__, sorted(d) if isinstance(d, dict) else "")
jobs=d.get("jobs", []) if isinstance(d, dict) else d
jobs=[j for j in jobs if str(j.get("job_id"))==os.environ["J"]]
print("jobs with the id:", len(jobs))
for j in jobs[:1]:
  for k in ("job_id","name","job_state","state_reason","partition","time_limit","cpus","node_count"):
    print(k, "=", json.dumps(j.get(k, "<absent>")))
'
