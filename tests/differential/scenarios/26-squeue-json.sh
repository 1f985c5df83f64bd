j=$(sbatch --parsable -H -J jsonjob --wrap true)
squeue --json -j "$j" >out.json 2>err; echo "rc=$?"; head -3 err
# What the job record says, then how it is encoded: Slurm 22.05 has only
# data_parser v0.0.38 (plain numbers, null when unset, a string state);
# Conductor's default is v0.0.40 (number objects, a state array).
J=$j python3 -c '
import json,os
d=json.load(open("out.json")); print("top:", type(d).__name__, [k for k in ("errors","jobs","meta") if k in d])
jobs=d.get("jobs", []) if isinstance(d, dict) else d
jobs=[j for j in jobs if str(j.get("job_id"))==os.environ["J"]]
print("jobs with the id:", len(jobs))
def meaning(v):
  if isinstance(v, dict) and "set" in v: return v["number"] if v["set"] else None
  if isinstance(v, list) and all(isinstance(x, str) for x in v): return ",".join(v)
  return v
for j in jobs[:1]:
  for k in ("job_id","name","job_state","state_reason","partition","time_limit","cpus","node_count","tasks","user_name","standard_input"):
    print(k, "=", json.dumps(meaning(j.get(k, "<absent>"))))
  print("encoding: job_state", type(j.get("job_state")).__name__, "cpus", type(j.get("cpus")).__name__)
'
