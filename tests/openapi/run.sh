#!/usr/bin/env bash
# schemathesis against a live conductord, over every operation of the
# OpenAPI document the daemon serves (`GET /openapi.json`, the same bytes
# as docs/openapi.json): no 5xx, and every reply's status, content type
# and body as the document says.
#
#   CONDUCTOR_BIN_DIR=/path/to/bin tests/openapi/run.sh [EXTRA SCHEMATHESIS ARGS...]
#
# Needs PyPI the first time (the venv is cached in $OPENAPI_VENV). Starts a
# private conductord on a temporary state directory with a TCP listener and
# uses its own token (the state directory's, the daemon's user's) as the
# bearer token. Exits non-zero on any failure, or if the daemon is not sane
# afterwards (it still answers, and its books agree).
#
# What the fuzzing may do, and why it is safe: it submits jobs with made-up
# scripts, so the daemon runs with --max-jobs-per-user 0: every job pends
# (AssocMaxJobsLimit) and no fuzzed script ever runs. It cancels, holds,
# requeues and updates them, and resets the statistics; all of that is the
# daemon's user's to do. It cannot revoke its own token: /v1/tokens and
# /v1/tokens/revoke answer 403 over TCP (the Unix socket only), which the
# document says, so the run keeps its token to the end.
#
# Environment:
#   CONDUCTOR_BIN_DIR    Conductor's binaries (default target/debug, else target/release)
#   OPENAPI_VENV         the venv (default /tmp/conductor-openapi-venv)
#   OPENAPI_PYTHON       the interpreter for the venv (default python3)
#   OPENAPI_MAX_EXAMPLES examples per operation and phase (default 50)
#   OPENAPI_KEEP=1       keep the temporary directory (daemon log) afterwards
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

# The latest schemathesis on PyPI when this was written.
PIN="schemathesis==4.32.5"

# ---- binaries ----
if [[ -z "${CONDUCTOR_BIN_DIR:-}" ]]; then
  if [[ -x "$ROOT/target/debug/conductord" ]]; then
    CONDUCTOR_BIN_DIR="$ROOT/target/debug"
  else
    CONDUCTOR_BIN_DIR="$ROOT/target/release"
  fi
fi
CONDUCTOR_BIN_DIR="$(cd "$CONDUCTOR_BIN_DIR" && pwd)"
for b in conductord ccontrol cqueue ccancel; do
  [[ -x "$CONDUCTOR_BIN_DIR/$b" ]] || { echo "run.sh: $CONDUCTOR_BIN_DIR/$b missing (build first or set CONDUCTOR_BIN_DIR)" >&2; exit 2; }
done

# ---- venv ----
VENV="${OPENAPI_VENV:-/tmp/conductor-openapi-venv}"
if [[ ! -x "$VENV/bin/python" ]]; then
  echo "== creating venv $VENV"
  "${OPENAPI_PYTHON:-python3}" -m venv "$VENV"
fi
STAMP="$VENV/.conductor-pin"
if [[ ! -f "$STAMP" ]] || [[ "$(cat "$STAMP")" != "$PIN" ]]; then
  echo "== installing $PIN"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$PIN"
  echo "$PIN" > "$STAMP"
fi

# ---- private daemon ----
TMP="$(mktemp -d "${TMPDIR:-/tmp}/conductor-openapi.XXXXXX")"
DAEMON_PID=""
cleanup() {
  local rc=$?
  if [[ -n "$DAEMON_PID" ]] && kill -0 "$DAEMON_PID" 2>/dev/null; then
    "$CONDUCTOR_BIN_DIR/ccancel" -u "$(id -un)" >/dev/null 2>&1 || true
    kill -TERM "$DAEMON_PID" 2>/dev/null || true
    wait "$DAEMON_PID" 2>/dev/null || true
  fi
  if [[ "${OPENAPI_KEEP:-0}" == 1 || $rc -ne 0 ]]; then
    echo "logs kept in $TMP (conductord.log)"
  else
    rm -rf "$TMP"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT="$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$CONDUCTOR_BIN_DIR/conductord" --socket "$TMP/c.sock" --state-dir "$TMP/state" \
  --listen "127.0.0.1:$PORT" --cpus 2 --mem 2G --gpus 0 --kill-wait 1 \
  --max-jobs-per-user 0 >"$TMP/conductord.log" 2>&1 &
DAEMON_PID=$!
export CONDUCTOR_SERVER="unix:$TMP/c.sock"
export CONDUCTOR_NO_AUTOSTART=1
for _ in $(seq 1 100); do
  "$CONDUCTOR_BIN_DIR/ccontrol" ping >/dev/null 2>&1 && [[ -s "$TMP/state/token" ]] && break
  kill -0 "$DAEMON_PID" 2>/dev/null || { cat "$TMP/conductord.log" >&2; echo "conductord died" >&2; exit 2; }
  sleep 0.1
done
"$CONDUCTOR_BIN_DIR/ccontrol" ping >/dev/null
TOKEN="$(cat "$TMP/state/token")"

# A few jobs for the fuzzed ids to find (ids 1..3), ended (cancelled while
# pending): following an ended job's output answers at once, where
# following a pending one streams until it ends, which here is never.
for _ in 1 2 3; do
  "$CONDUCTOR_BIN_DIR/cbatch" -D "$TMP" --wrap true >/dev/null
done
"$CONDUCTOR_BIN_DIR/ccancel" 1 2 3

echo "== $("$VENV/bin/schemathesis" --version); conductor $("$CONDUCTOR_BIN_DIR/ccontrol" --version)"
# schemathesis keeps its cache in the working directory: keep it off the repo.
cd "$TMP"
set +e
"$VENV/bin/schemathesis" --config-file "$HERE/schemathesis.toml" run "http://127.0.0.1:$PORT/openapi.json" \
  --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
  --header "Authorization: Bearer $TOKEN" \
  --max-examples "${OPENAPI_MAX_EXAMPLES:-50}" \
  --request-timeout 10 \
  --seed 1 \
  --no-color \
  "$@"
RC=$?
set -e

# ---- the daemon is sane afterwards ----
SANE=0
if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
  echo "run.sh: conductord died during the run" >&2; SANE=1
elif ! "$CONDUCTOR_BIN_DIR/ccontrol" ping >/dev/null; then
  echo "run.sh: conductord does not answer after the run" >&2; SANE=1
elif ! "$CONDUCTOR_BIN_DIR/cqueue" -t all -h >/dev/null; then
  echo "run.sh: cqueue fails after the run" >&2; SANE=1
else
  "$VENV/bin/python" - "$TMP/c.sock" <<'EOF' || SANE=1
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"GET /v1/debug HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
reply = b""
while chunk := s.recv(65536):
    reply += chunk
books = json.loads(reply.split(b"\r\n\r\n", 1)[1])
if books["booked"] != books["held_by_running_jobs"]:
    sys.exit(f"run.sh: the books disagree after the run: {books}")
print(f"== daemon sane: {books['pending']} pending, {books['running']} running, books agree")
EOF
fi
if grep -q -i 'panicked' "$TMP/conductord.log"; then
  echo "run.sh: conductord panicked during the run:" >&2
  grep -i -A3 'panicked' "$TMP/conductord.log" >&2
  SANE=1
fi

if [[ $RC -ne 0 || $SANE -ne 0 ]]; then
  echo "== FAILED (schemathesis exit $RC, sanity $SANE)"
  exit 1
fi
echo "== PASSED"
