#!/usr/bin/env bash
# Real Slurm clients against a private conductord: submitit, dask-jobqueue,
# Parsl and Snakemake's slurm executor, each run end to end through the
# Slurm-named links (sbatch, squeue, scancel, sacct, scontrol, sinfo, srun).
#
#   CONDUCTOR_BIN_DIR=/path/to/bin tests/clients/run.sh [FLOW...]
#
# FLOW is any of: submitit submitit-checkpoint dask-jobqueue parsl parsl-single
# snakemake
# (default: all). Needs network access to PyPI the first time (the venv is
# cached in $CLIENTS_VENV). Prints "PASS name" / "FAIL name (reason)" per flow
# and "N passed, M failed" at the end; exits 1 if any flow failed.
#
# Environment:
#   CONDUCTOR_BIN_DIR  Conductor's binaries (default target/release, else target/debug)
#   CLIENTS_VENV       the venv (default ~/.cache/conductor-clients-venv)
#   CLIENTS_PYTHON     the interpreter for the venv (default /usr/bin/python3, else python3)
#   CLIENTS_TIMEOUT    seconds per flow (default 300)
#   CLIENTS_KEEP=1     keep the temporary directory (logs) afterwards
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
FLOWS="$HERE/flows"

# ---- pinned client versions (latest on PyPI when this was written) ----
PINS=(
  "submitit==1.5.4"
  "dask==2026.8.0"
  "distributed==2026.8.0"
  "dask-jobqueue==0.9.0"
  "parsl==2026.10.26"
  "snakemake==9.27.1"
  "snakemake-executor-plugin-slurm==2.8.0"
  "snakemake-executor-plugin-slurm-jobstep==0.6.1"
)

# ---- binaries ----
if [[ -z "${CONDUCTOR_BIN_DIR:-}" ]]; then
  if [[ -x "$ROOT/target/release/conductord" ]]; then
    CONDUCTOR_BIN_DIR="$ROOT/target/release"
  else
    CONDUCTOR_BIN_DIR="$ROOT/target/debug"
  fi
fi
CONDUCTOR_BIN_DIR="$(cd "$CONDUCTOR_BIN_DIR" && pwd)"
for b in conductord cbatch cqueue ccancel crun cacct ccontrol cinfo; do
  [[ -x "$CONDUCTOR_BIN_DIR/$b" ]] || { echo "run.sh: $CONDUCTOR_BIN_DIR/$b missing (build first or set CONDUCTOR_BIN_DIR)" >&2; exit 2; }
done

# ---- venv ----
VENV="${CLIENTS_VENV:-$HOME/.cache/conductor-clients-venv}"
PY_BASE="${CLIENTS_PYTHON:-}"
if [[ -z "$PY_BASE" ]]; then
  if [[ -x /usr/bin/python3 ]]; then PY_BASE=/usr/bin/python3; else PY_BASE=python3; fi
fi
if [[ ! -x "$VENV/bin/python" ]]; then
  echo "== creating venv $VENV with $PY_BASE"
  "$PY_BASE" -m venv "$VENV"
fi
PY="$VENV/bin/python"
STAMP="$VENV/.conductor-pins"
if [[ ! -f "$STAMP" ]] || [[ "$(cat "$STAMP")" != "${PINS[*]}" ]]; then
  echo "== installing ${PINS[*]}"
  "$PY" -m pip install -q --disable-pip-version-check "${PINS[@]}"
  echo "${PINS[*]}" > "$STAMP"
fi

# ---- private daemon ----
TMP="$(mktemp -d "${TMPDIR:-/tmp}/conductor-clients.XXXXXX")"
DAEMON_PID=""
cleanup() {
  local rc=$?
  if [[ -n "$DAEMON_PID" ]] && kill -0 "$DAEMON_PID" 2>/dev/null; then
    # cancel whatever a failed flow left behind, then stop the daemon
    "$CONDUCTOR_BIN_DIR/ccancel" -u "$(id -un)" >/dev/null 2>&1 || true
    sleep 1
    kill -TERM "$DAEMON_PID" 2>/dev/null || true
    wait "$DAEMON_PID" 2>/dev/null || true
  fi
  if [[ "${CLIENTS_KEEP:-0}" == 1 || $rc -ne 0 ]]; then
    echo "logs kept in $TMP (conductord.log, one folder per flow)"
  else
    rm -rf "$TMP"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$CONDUCTOR_BIN_DIR/conductord" --socket "$TMP/c.sock" --state-dir "$TMP/state" \
  --cpus 2 --kill-wait 2 >"$TMP/conductord.log" 2>&1 &
DAEMON_PID=$!
export CONDUCTOR_SERVER="unix:$TMP/c.sock"
export CONDUCTOR_NO_AUTOSTART=1
for _ in $(seq 1 100); do
  "$CONDUCTOR_BIN_DIR/ccontrol" ping >/dev/null 2>&1 && break
  kill -0 "$DAEMON_PID" 2>/dev/null || { cat "$TMP/conductord.log" >&2; echo "conductord died" >&2; exit 2; }
  sleep 0.1
done
"$CONDUCTOR_BIN_DIR/ccontrol" ping >/dev/null

"$CONDUCTOR_BIN_DIR/ccontrol" install-slurm-links "$TMP/slurm-bin" >/dev/null
# Slurm-named commands first, then the venv (jobs inherit this PATH via --export=ALL)
export PATH="$TMP/slurm-bin:$VENV/bin:$PATH"
hash -r
for c in sbatch squeue scancel sacct scontrol sinfo srun; do
  [[ "$(command -v "$c")" == "$TMP/slurm-bin/$c" ]] || { echo "run.sh: $c is not Conductor's" >&2; exit 2; }
done
# clients may run from any cwd; keep them off the repo
cd "$TMP"

PARTITION="$(sinfo -h -o %P | head -n1 | tr -d '*')"
[[ -n "$PARTITION" ]] || { echo "run.sh: sinfo gave no partition" >&2; exit 2; }

# ---- versions ----
echo "== versions"
echo "conductor: $("$CONDUCTOR_BIN_DIR/ccontrol" --version) ($CONDUCTOR_BIN_DIR)"
"$PY" --version
"$PY" - <<'EOF'
from importlib.metadata import version
for d in ["submitit", "dask", "distributed", "dask-jobqueue", "parsl", "snakemake",
          "snakemake-executor-plugin-slurm", "snakemake-executor-plugin-slurm-jobstep"]:
    print(f"{d} {version(d)}")
EOF
echo "partition: $PARTITION"

# ---- flows ----
TIMEOUT="${CLIENTS_TIMEOUT:-300}"
PASSED=0
FAILED=0
FAILURES=()

# run_flow NAME CMD...: runs CMD in $TMP/NAME with a timeout, output in $TMP/NAME.log
run_flow() {
  local name=$1; shift
  local dir="$TMP/$name" log="$TMP/$name.log" rc=0
  mkdir -p "$dir"
  echo "== $name"
  (cd "$dir" && timeout -k 10 "$TIMEOUT" "$@") >"$log" 2>&1 || rc=$?
  if [[ $rc -eq 0 ]]; then
    echo "PASS $name"
    PASSED=$((PASSED + 1))
  else
    local why
    if [[ $rc -eq 124 || $rc -eq 137 ]]; then
      why="timed out after ${TIMEOUT}s"
    else
      why="exit $rc: $(grep -E '(Error|error|assert|FAIL|Exception)' "$log" | tail -n1 | cut -c1-200)"
    fi
    echo "FAIL $name ($why)"
    echo "---- last lines of $log"
    tail -n 40 "$log" | sed 's/^/    /'
    echo "---- queue"
    squeue -t all -o '%i %j %T %r' 2>&1 | tail -n 10 | sed 's/^/    /'
    FAILED=$((FAILED + 1))
    FAILURES+=("$name")
  fi
  # nothing of one flow may linger into the next
  scancel -u "$(id -un)" >/dev/null 2>&1 || true
}

flow_submitit() { "$PY" "$FLOWS/submitit_add.py" "$PWD/jobs" "$PARTITION"; }
flow_submitit_checkpoint() { "$PY" "$FLOWS/submitit_checkpoint.py" "$PWD/jobs" "$PARTITION"; }
flow_dask() { "$PY" "$FLOWS/dask_jobqueue_flow.py" "$PARTITION" "$PWD/logs"; }
# SrunLauncher (Parsl's default for Slurm: `srun --ntasks N -l bash cmd.sh`) and
# SingleNodeLauncher (the worker pool straight in the batch script)
flow_parsl() { "$PY" "$FLOWS/parsl_flow.py" "$PARTITION" "$PWD/runinfo" srun; }
flow_parsl_single() { "$PY" "$FLOWS/parsl_flow.py" "$PARTITION" "$PWD/runinfo" single; }
flow_snakemake() {
  cp "$FLOWS/Snakefile" Snakefile
  snakemake --executor slurm --jobs 2 \
    --default-resources "slurm_partition=$PARTITION" runtime=5 mem_mb=1000 \
    --slurm-init-seconds-before-status-checks 1 \
    --slurm-keep-successful-logs
  grep -qx made-by-a b.txt && grep -qx made-by-b b.txt
}
export -f flow_submitit flow_submitit_checkpoint flow_dask flow_parsl flow_parsl_single flow_snakemake
export PY FLOWS PARTITION

WANT=("$@")
[[ ${#WANT[@]} -gt 0 ]] || WANT=(submitit submitit-checkpoint dask-jobqueue parsl parsl-single snakemake)
for f in "${WANT[@]}"; do
  case "$f" in
    submitit) run_flow submitit bash -c flow_submitit ;;
    submitit-checkpoint) run_flow submitit-checkpoint bash -c flow_submitit_checkpoint ;;
    dask-jobqueue) run_flow dask-jobqueue bash -c flow_dask ;;
    parsl) run_flow parsl bash -c flow_parsl ;;
    parsl-single) run_flow parsl-single bash -c flow_parsl_single ;;
    snakemake) run_flow snakemake bash -c flow_snakemake ;;
    *) echo "run.sh: unknown flow $f" >&2; exit 2 ;;
  esac
done

echo
[[ $FAILED -eq 0 ]] || echo "failed: ${FAILURES[*]}"
echo "$PASSED passed, $FAILED failed"
[[ $FAILED -eq 0 ]]
