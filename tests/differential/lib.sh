# Helpers sourced before every scenario (both sides). Scenarios use Slurm's command names only.
# jid: the id out of "Submitted batch job N" (or --parsable output) on stdin
jid() { sed -n 's/^Submitted batch job \([0-9]*\).*/\1/p; s/^\([0-9][0-9]*\)\(;.*\)\{0,1\}$/\1/p' | head -1; }
# wait_state ID STATE-REGEX: until squeue shows the job (or array task) in one of the states (max ~20 s)
wait_state() { local i; for i in $(seq 100); do squeue -h -j "$1" -t all -o %T 2>/dev/null | grep -qE "^($2)$" && return 0; sleep 0.2; done; echo "wait_state $1 $2: timed out" >&2; return 1; }
# wait_done ID...: until each job has left the queue or finished, and sacct has its complete record
wait_done() {
  local id i s
  for id in "$@"; do
    for i in $(seq 150); do
      s=$(squeue -h -j "$id" -t all -o %T 2>/dev/null | grep -vE '^(COMPLETED|FAILED|CANCELLED|TIMEOUT|OUT_OF_MEMORY|NODE_FAIL|PREEMPTED|BOOT_FAIL|DEADLINE)$')
      [[ -z $s ]] && break; sleep 0.2
    done
    for i in $(seq 150); do
      s=$(sacct -n -P -j "$id" -o JobID,JobName,State 2>/dev/null)
      if [[ -n $s ]] && ! grep -qE '\|allocation\||\|(RUNNING|PENDING|COMPLETING|REQUEUED)' <<<"$s"; then
        # a job that ran must show its .batch step too
        if grep -q "^$id\(_[0-9]*\)\{0,1\}|[^|]*|CANCELLED" <<<"$s" || grep -q '\.batch|' <<<"$s"; then break; fi
      fi
      sleep 0.2
    done
  done
}
# wait_out FILE: until the file exists and is non-empty
wait_out() { local i; for i in $(seq 100); do [[ -s $1 ]] && return 0; sleep 0.1; done; return 1; }
