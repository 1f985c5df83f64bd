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
# --- for scenarios-multifactor (DIFF_PROFILE=multifactor)
# warm_usage: until the user has usage in the fair-share tree, so that, as the only user, their
# fair-share factor is 2^-1 on both sides (Slurm keeps usage across runs; Conductor starts empty).
# Slurm moves the factor in its decay pass, once a minute: the first run may wait that long.
warm_usage() {
  local i j
  if [[ $(sshare -n -P -U -o fairshare 2>/dev/null) != 0.500000 ]]; then
    j=$(sbatch --parsable -o /dev/null --wrap 'sleep 2'); wait_done "$j"
  fi
  # then a little more, for Conductor's next recomputation to take the charge into its tree
  for i in $(seq 450); do [[ $(sshare -n -P -U -o fairshare 2>/dev/null) == 0.500000 ]] && { sleep 3; return 0; }; sleep 0.2; done
  echo "warm_usage: no usage yet" >&2; return 1
}
# wait_looked ID...: until the scheduler has looked at each pending job (a reason other than
# None): Slurm gives a job its begin time, which sprio needs to list it, only then.
wait_looked() { local id i; for id in "$@"; do for i in $(seq 100); do
  [[ $(squeue -h -j "$id" -o %r 2>/dev/null) != None ]] && break; sleep 0.2; done; done; }
# mask_age: normalized age factors (they move with every calc period) as 0.0000AGE
mask_age() { sed -E 's/\b0\.00[0-9]{5}\b/0.000AGE/g'; }
