#!/usr/bin/env bash
# "What bounds us": the measurements behind BENCHMARKS.md's notes (run alone, after bench/run.sh).
# Private daemon (--cpus 2) on a temp socket; stopped by its PID at the end. Output: bench/results/diagnose.txt
set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd); B=$REPO/target/release
D=$(mktemp -d /tmp/conductor-diag.XXXXXX)
"$B/conductord" --cpus 2 --socket "$D/sock" --state-dir "$D/state" 2>"$D/log" & PID=$!
trap 'kill -TERM $PID; wait $PID 2>/dev/null; rm -rf "$D"' EXIT
export CONDUCTOR_SERVER=unix:$D/sock CONDUCTOR_NO_AUTOSTART=1
for _ in $(seq 100); do "$B/cqueue" -h >/dev/null 2>&1 && break; sleep 0.05; done
echo "## fsync latency of this disk (dd 4 KiB writes, oflag=dsync, 300 writes, state dir's filesystem)"
dd if=/dev/zero of="$D/ddtest" bs=4k count=300 oflag=dsync 2>&1 | tail -1; rm -f "$D/ddtest"
echo "## perf stat: cbatch --version vs one held submit (CPU time of the client vs wall time)"
perf stat -r 100 "$B/cbatch" --version 2>&1 >/dev/null | grep -E 'task-clock|elapsed'
perf stat -r 100 "$B/cbatch" --parsable --hold -o /dev/null --wrap=true 2>&1 >/dev/null | grep -E 'task-clock|elapsed'
"$B/ccancel" -u "$(id -un)"
echo "## daemon syscalls per job while 300 'true' jobs run (strace -f -c on conductord)"
strace -f -c -e trace=fsync,fdatasync,clone,clone3,execve,wait4,pidfd_open -o "$D/strace.txt" -p $PID 2>/dev/null & SPID=$!
sleep 1
seq 300 | xargs -P 4 -I{} "$B/cbatch" --parsable -o /dev/null --wrap=true >/dev/null
for _ in $(seq 600); do [[ $("$B/cqueue" -h -o %i | wc -l) == 0 ]] && break; sleep 0.1; done
kill -INT $SPID; wait $SPID 2>/dev/null; cat "$D/strace.txt"
echo "## list cost split at 10k held: raw HTTP GET /v1/jobs (daemon + transfer) vs cqueue"
seq 10000 | xargs -P 8 -n 50 sh -c 'for i; do '"$B"'/cbatch --parsable --hold -o /dev/null --wrap=true; done' _ >/dev/null
echo "pending: $("$B/cqueue" -h -t PD -o %i | wc -l)"
for i in 1 2 3; do curl -s -o "$D/jobs.json" -w 'curl GET /v1/jobs: %{time_total}s %{size_download} bytes\n' --unix-socket "$D/sock" http://localhost/v1/jobs; done
for i in 1 2 3; do s=$EPOCHREALTIME; "$B/cqueue" >/dev/null; echo "cqueue: $(awk -v a=$EPOCHREALTIME -v b=$s 'BEGIN{printf "%.1f", (a-b)*1000}') ms"; done
perf stat -r 5 "$B/cqueue" 2>&1 >/dev/null | grep -E 'task-clock|elapsed'
echo "## one cancel by id at 10k pending: ccancel ID vs the bare API call (curl POST /v1/jobs/ID/cancel)"
for ID in $("$B/cqueue" -h -t PD -o %i | tail -3); do
  s=$EPOCHREALTIME; "$B/ccancel" "$ID"; echo "ccancel $ID: $(awk -v a=$EPOCHREALTIME -v b=$s 'BEGIN{printf "%.1f", (a-b)*1000}') ms"
done
for ID in $("$B/cqueue" -h -t PD -o %i | tail -3); do
  curl -s -o /dev/null -w "curl cancel $ID: %{time_total}s\n" -X POST --unix-socket "$D/sock" "http://localhost/v1/jobs/$ID/cancel"
done
