#!/usr/bin/env bash
# The whole benchmark, in sequence (never concurrently): Conductor (shared harness adapter + api_bench),
# then Slurm (tuned) and pueue with reduced sizes, then the comparison table.
# Usage: bench/run.sh            (about 15-30 min on 2 vCPUs; needs root for the Slurm anchor)
# Knobs: SKIP_CONDUCTOR=1 SKIP_API=1 SKIP_SLURM=1 SKIP_PUEUE=1, PUEUE_BIG_N (default 0 = skip pueue's 10k phase),
#        SLURM_REPS (default 1), CONDUCTOR_REPS (default 3).
set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ -z ${ANCHORS:-} ]]; then
  for d in "$REPO/../shared/bench/anchors" "$REPO/../../shared/bench/anchors" /work/shared/bench/anchors; do
    [[ -f $d/bench_lib.sh ]] && { ANCHORS=$(cd "$d" && pwd); break; }
  done
fi
export ANCHORS
export RESULTS_DIR=$REPO/bench/results
mkdir -p "$RESULTS_DIR"
cd "$REPO"
say() { printf '\n=== %s %s\n' "$(date +%T)" "$*"; }

cargo build --release --locked || exit 1

if [[ ${SKIP_CONDUCTOR:-0} != 1 ]]; then
  say "Conductor on the shared harness"
  A_NAME=conductor N=1000 DRAIN_N=1000 REPS=${CONDUCTOR_REPS:-3} BIG_N=10000 bench/conductor_bench.sh
fi
if [[ ${SKIP_API:-0} != 1 ]]; then
  say "Conductor api_bench"
  cargo bench --locked --bench api_bench | tee "$RESULTS_DIR/conductor_api.txt"
fi
if [[ ${SKIP_SLURM:-0} != 1 ]]; then
  say "Slurm (tuned) anchor"
  SLURM_SCHED_PARAMS=batch_sched_delay=0,sched_min_interval=0 "$ANCHORS/slurm_setup.sh" start
  A_NAME=slurm_tuned N=1000 DRAIN_N=100 REPS=${SLURM_REPS:-1} BIG_N=10000 "$ANCHORS/slurm_bench.sh"
  "$ANCHORS/slurm_setup.sh" stop
fi
if [[ ${SKIP_PUEUE:-0} != 1 ]]; then
  say "pueue anchor"
  "$ANCHORS/pueue_setup.sh" start
  A_NAME=pueue N=1000 DRAIN_N=100 REPS=1 BIG_N=${PUEUE_BIG_N:-0} STEP_TIMEOUT=${PUEUE_STEP_TIMEOUT:-150} "$ANCHORS/pueue_bench.sh"
  "$ANCHORS/pueue_setup.sh" stop
fi
say "comparison"
python3 bench/compare.py | tee "$RESULTS_DIR/comparison.md"
