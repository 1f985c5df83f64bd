#!/usr/bin/env bash
# Conductor adapter for the shared scheduler-agnostic harness (bench_lib.sh: phases held / drain / sts / big).
# Builds the release binaries, starts a private conductord (--cpus 2, fresh temp socket + state dir),
# runs the harness against it, and stops the daemon (by its recorded PID) at the end.
# Usage: [N=1000 DRAIN_N=1000 REPS=3 BIG_N=10000 PHASES=held,drain,sts,big] bench/conductor_bench.sh
# Results: bench/results/conductor.tsv (columns: anchor metric rep value unit note).
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The shared harness: $REPO/../shared/bench/anchors (the documented layout), else /work/shared/bench/anchors.
if [[ -z ${ANCHORS:-} ]]; then
  for d in "$REPO/../shared/bench/anchors" "$REPO/../../shared/bench/anchors" /work/shared/bench/anchors; do
    [[ -f $d/bench_lib.sh ]] && { ANCHORS=$(cd "$d" && pwd); break; }
  done
fi
[[ -f ${ANCHORS:-}/bench_lib.sh ]] || { echo "cannot find shared/bench/anchors/bench_lib.sh; set ANCHORS=" >&2; exit 1; }
export RESULTS_DIR=${RESULTS_DIR:-$REPO/bench/results}
source "$ANCHORS/bench_lib.sh"
A_NAME=${A_NAME:-conductor}

# CONDUCTOR_BIN: binaries to measure instead of this tree's release build (e.g. an older commit's,
# for a before/after); CONDUCTOR_DAEMON_ARGS: extra conductord arguments (e.g. --containment none).
if [[ -z ${CONDUCTOR_BIN:-} ]]; then
  (cd "$REPO" && cargo build --release --locked --quiet) || { echo "cargo build --release failed" >&2; exit 1; }
fi
B=${CONDUCTOR_BIN:-$REPO/target/release}
CBATCH=$B/cbatch; CQUEUE=$B/cqueue; CCANCEL=$B/ccancel
ME=$(id -un)

# --- private daemon
CD_DIR=$(mktemp -d /tmp/conductor-bench.XXXXXX)
# shellcheck disable=SC2086 # the extra arguments are words
"$B/conductord" --cpus "${CPUS:-2}" --socket "$CD_DIR/sock" --state-dir "$CD_DIR/state" ${CONDUCTOR_DAEMON_ARGS:-} 2>"$CD_DIR/conductord.log" &
CD_PID=$!
export CONDUCTOR_SERVER=unix:$CD_DIR/sock CONDUCTOR_NO_AUTOSTART=1
stop_daemon() {
  if kill -0 "$CD_PID" 2>/dev/null; then
    kill -TERM "$CD_PID"; for _ in $(seq 50); do kill -0 "$CD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$CD_PID" 2>/dev/null && kill -KILL "$CD_PID"
  fi
  [[ ${KEEP_STATE:-0} == 1 ]] || rm -rf "$CD_DIR"
}
trap stop_daemon EXIT
for _ in $(seq 100); do "$CQUEUE" -h >/dev/null 2>&1 && break; sleep 0.05; done
"$CQUEUE" -h >/dev/null || { echo "conductord did not answer; log: $CD_DIR/conductord.log" >&2; cat "$CD_DIR/conductord.log" >&2; exit 1; }

a_versions()      { "$CBATCH" --version; "$B/conductord" --version; rustc --version; git -C "$REPO" rev-parse --short HEAD; }
a_submit()        { "$CBATCH" --parsable -o /dev/null --wrap=true; }
a_submit_held()   { "$CBATCH" --parsable --hold -o /dev/null --wrap=true; }
a_submit_stamp()  { "$CBATCH" --parsable -o /dev/null --wrap="date +%s.%N > $1"; }
a_list()          { "$CQUEUE"; }
a_list_machine()  { "$CQUEUE" -h -o '%i %t'; }
a_pending_ids()   { "$CQUEUE" -h -t PD -o '%i'; }
a_cancel_one()    { "$CCANCEL" "$1"; }
a_cancel_all()    { "$CCANCEL" -u "$ME"; }
a_active_count()  { "$CQUEUE" -h -t PD,R -o '%i' | wc -l; }
a_clean()         { "$CCANCEL" -u "$ME" 2>/dev/null; true; }
a_daemon_pids()   { echo "conductord $CD_PID"; }
# Hook: the harness calls a_extra_rss right after the held submissions (and once at idle). With jobs
# pending it also times `cqueue --json` (a second machine-readable listing) as list_json_<tag>; it prints
# no RSS lines itself.
a_extra_rss() {
  local n; n=$(a_pending_ids 2>/dev/null | wc -l)
  ((n > 0)) || return 0
  local tag=n$N; ((n > N)) && tag=n$BIG_N
  local rep; rep=$(( $(awk -F'\t' -v m="list_json_${tag}" '$2==m' "$OUT_TSV" | wc -l) + 1 ))
  time_repeated "list_json_${tag}" "$rep" "$LIST_RUNS" "$CQUEUE" --json=conductor >&2
}

bench_main "$@"
