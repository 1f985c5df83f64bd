#!/usr/bin/env bash
# Several nodes on one PostgreSQL (issue 14): held submits and a drain, through the scheduler's
# own socket and through a standby's (which passes each request on to the scheduler over TCP),
# with one node and with three, next to SQLite.
# Starts a private PostgreSQL (initdb + pg_ctl, fsync on, as the postgres user when root) and
# private daemons (release build), measures, and stops everything.
# A "wide" run (WIDE_N one-second jobs, 2 CPUs a node) shows the nodes sharing the work.
# Usage: [N=500 DRAIN_N=500 WIDE_N=60] bench/cluster_bench.sh     Prints a Markdown table.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${N:-500}
DRAIN_N=${DRAIN_N:-500}
WIDE_N=${WIDE_N:-60}
(cd "$REPO" && cargo build --release --locked --quiet)
B=$REPO/target/release
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
DIR=$(mktemp -d /tmp/cluster-bench.XXXXXX)
chmod 755 "$DIR"
PIDS=()
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  sleep 1
  as_pg "$PG_BIN/pg_ctl" -D "$DIR/pg" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT

mkdir "$DIR/pg" && [[ $(id -u) == 0 ]] && chown postgres "$DIR/pg"
as_pg "$PG_BIN/initdb" -D "$DIR/pg" -A trust -U conductor >/dev/null
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_pg "$PG_BIN/pg_ctl" -D "$DIR/pg" -o "-p $PORT -k $DIR/pg -c listen_addresses=127.0.0.1" \
  -l "$DIR/pg/server.log" -w start >/dev/null
URL="postgres://conductor@127.0.0.1:$PORT/postgres"

# start NAME TCP_PORT [ARGS...]: a daemon with its own socket and state.
start() {
  local name=$1 port=$2; shift 2
  "$B/conductord" --cpus 2 --node "$name" --socket "$DIR/$name.sock" --state-dir "$DIR/$name" \
    --listen "127.0.0.1:$port" "$@" 2>"$DIR/$name.log" &
  PIDS+=($!)
  for _ in $(seq 200); do
    CONDUCTOR_SERVER=unix:$DIR/$name.sock "$B/cqueue" -h >/dev/null 2>&1 && return
    sleep 0.05
  done
  echo "$name did not answer" >&2; cat "$DIR/$name.log" >&2; exit 1
}

# held SOCKET: ms per `cbatch --hold` call, N calls in a row.
held() {
  local t0 t1
  t0=$(date +%s%N)
  for _ in $(seq "$N"); do
    CONDUCTOR_SERVER=unix:$1 "$B/cbatch" --parsable --hold -o /dev/null --wrap=true >/dev/null
  done
  t1=$(date +%s%N)
  CONDUCTOR_SERVER=unix:$1 "$B/ccancel" -u "$(id -un)"
  python3 -c "print(f'{($t1-$t0)/1e6/$N:.2f} ms')"
}

# drain SOCKET: jobs/s for DRAIN_N `true` jobs, submitted through SOCKET, until none is active.
drain() {
  local t0 t1
  t0=$(date +%s%N)
  for _ in $(seq "$DRAIN_N"); do
    CONDUCTOR_SERVER=unix:$1 "$B/cbatch" --parsable -o /dev/null --wrap=true >/dev/null
  done
  while [[ -n $(CONDUCTOR_SERVER=unix:$1 "$B/cqueue" -h -t PD,R -o '%i') ]]; do sleep 0.05; done
  t1=$(date +%s%N)
  python3 -c "print(f'{$DRAIN_N/(($t1-$t0)/1e9):.0f} jobs/s')"
}

# wide SOCKET: seconds for WIDE_N `sleep 1` jobs submitted at once through SOCKET to end,
# and how many ran on each node (cacct's NodeList).
wide() {
  local t0 t1 first last
  t0=$(date +%s%N)
  first=$(CONDUCTOR_SERVER=unix:$1 "$B/cbatch" --parsable -o /dev/null --wrap='sleep 1')
  for _ in $(seq 2 "$WIDE_N"); do
    last=$(CONDUCTOR_SERVER=unix:$1 "$B/cbatch" --parsable -o /dev/null --wrap='sleep 1')
  done
  while [[ -n $(CONDUCTOR_SERVER=unix:$1 "$B/cqueue" -h -t PD,R -o '%i') ]]; do sleep 0.05; done
  t1=$(date +%s%N)
  local spread
  spread=$(CONDUCTOR_SERVER=unix:$1 "$B/cacct" -n -X -P -o NodeList -j "$(seq -s, "$first" "$last")" |
    sort | uniq -c | awk '{printf "%s%s %s", sep, $2, $1; sep=", "}')
  python3 -c "print(f'{($t1-$t0)/1e9:.1f} s ($spread)')"
}

export CONDUCTOR_NO_AUTOSTART=1
# SQLite: one daemon on its own.
"$B/conductord" --cpus 2 --socket "$DIR/sqlite.sock" --state-dir "$DIR/sqlite" 2>"$DIR/sqlite.log" &
PIDS+=($!)
for _ in $(seq 200); do CONDUCTOR_SERVER=unix:$DIR/sqlite.sock "$B/cqueue" -h >/dev/null 2>&1 && break; sleep 0.05; done
sqlite_held=$(held "$DIR/sqlite.sock"); sqlite_drain=$(drain "$DIR/sqlite.sock")
kill -TERM "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null || true; PIDS=()

# PostgreSQL, one node.
start alpha 0 --store "$URL"
one_held=$(held "$DIR/alpha.sock"); one_drain=$(drain "$DIR/alpha.sock"); one_wide=$(wide "$DIR/alpha.sock")
kill -TERM "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null || true; PIDS=()

# PostgreSQL, three nodes: alpha schedules, beta and gamma stand by.
P1=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start alpha "$P1" --store "$URL"
for node in beta gamma; do
  "$B/conductord" --cpus 2 --node "$node" --socket "$DIR/$node.sock" --state-dir "$DIR/$node" \
    --store "$URL" 2>"$DIR/$node.log" &
  PIDS+=($!)
  for _ in $(seq 200); do
    CONDUCTOR_SERVER=unix:$DIR/$node.sock "$B/cqueue" -h >/dev/null 2>&1 && break
    sleep 0.05
  done
done
three_held=$(held "$DIR/alpha.sock"); three_drain=$(drain "$DIR/alpha.sock")
via_held=$(held "$DIR/beta.sock"); via_drain=$(drain "$DIR/beta.sock")
three_wide=$(wide "$DIR/alpha.sock")

cat <<EOF
| metric (N=$N held, $DRAIN_N drained) | SQLite | PostgreSQL, 1 node | PostgreSQL, 3 nodes, on the scheduler | 3 nodes, through a standby |
|---|---|---|---|---|
| held submit, per CLI call | $sqlite_held | $one_held | $three_held | $via_held |
| drain, submitted through that node | $sqlite_drain | $one_drain | $three_drain | $via_drain |
| $WIDE_N one-second jobs at once, until all ended (where they ran) | | $one_wide | $three_wide | |
EOF
