#!/usr/bin/env bash
# Differential suite: run each scenario against a live Slurm and against Conductor, normalise
# what legitimately differs, and compare.  See README.md next to this file.
#   usage: tests/differential/run.sh [SCENARIO-GLOB...]     (e.g. 05 'sbatch-*')
# Env: SLURM_CONF (default /tmp/slurm-live/slurm.conf, from shared/slurm-live/slurm_stack.sh),
#      CONDUCTOR_BIN_DIR (default target/release when its conductord is at least 5 minutes old,
#      else target/debug), DIFF_KEEP=1 keeps the temporary directory, DIFF_TIMEOUT (s, 60),
#      DIFF_PROFILE=multifactor: the scenarios under scenarios-multifactor/ against the stack of
#      multifactor_stack.sh, Conductor under the same PriorityType, weights and partitions.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
export SLURM_CONF=${SLURM_CONF:-/tmp/slurm-live/slurm.conf}
if [[ -z ${CONDUCTOR_BIN_DIR:-} ]]; then
  R=$REPO/target/release
  if [[ -x $R/conductord && -n $(find "$R/conductord" -mmin +5 2>/dev/null) ]]; then CONDUCTOR_BIN_DIR=$R
  else CONDUCTOR_BIN_DIR=$REPO/target/debug; fi
fi
SLURM_BIN=${SLURM_BIN_DIR:-/usr/bin}
TIMEOUT=${DIFF_TIMEOUT:-60}
TMP=$(mktemp -d /tmp/cdiff.XXXXXX)
CPID=
cleanup() {
  [[ -n $CPID ]] && kill "$CPID" 2>/dev/null && wait "$CPID" 2>/dev/null
  if [[ ${DIFF_KEEP:-0} == 1 ]]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- live Slurm: must answer
if ! PATH=$SLURM_BIN:$PATH timeout 10 scontrol ping 2>/dev/null | grep -q UP; then
  echo "live Slurm does not answer (SLURM_CONF=$SLURM_CONF); start it with shared/slurm-live/slurm_stack.sh start" >&2; exit 2
fi
NODELINE=$(PATH=$SLURM_BIN:$PATH scontrol -o show node | head -1)
SNODE=$(sed -n 's/.*NodeName=\([^ ]*\).*/\1/p' <<<"$NODELINE")
CPUS=$(sed -n 's/.*CPUTot=\([0-9]*\).*/\1/p' <<<"$NODELINE")
MEM=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$NODELINE")
PART=$(PATH=$SLURM_BIN:$PATH sinfo -h -o %P | head -1 | tr -d '*')
SCLUSTER=$(PATH=$SLURM_BIN:$PATH scontrol show config | sed -n 's/^ClusterName *= *//p')
MAXARR=$(PATH=$SLURM_BIN:$PATH scontrol show config | sed -n "s/^MaxArraySize *= *//p")

# --- the profile: which scenarios, and what Conductor is told beyond the node's size
PROFILE=${DIFF_PROFILE:-default}
case $PROFILE in
default) SCEN_DIR=$HERE/scenarios; CFLAGS=(--partition "$PART");;
multifactor)
  SCEN_DIR=$HERE/scenarios-multifactor
  conf() { PATH=$SLURM_BIN:$PATH scontrol show config | sed -n "s/^$1 *= *//p"; }
  if [[ $(conf PriorityType) != priority/multifactor ]]; then
    echo "DIFF_PROFILE=multifactor needs the stack of tests/differential/multifactor_stack.sh" >&2; exit 2
  fi
  # Slurm's weights and partitions, as conductord flags; the calc period is Conductor's
  # shortest sensible (Slurm's is a minute at least), so that a charge reaches the fair-share
  # tree within a scenario: the weighted factors the scenarios compare do not move with it.
  CFLAGS=(--priority-type multifactor --priority-calc-period 0:02
    --priority-weight-age "$(conf PriorityWeightAge)" --priority-weight-fairshare "$(conf PriorityWeightFairShare)"
    --priority-weight-job-size "$(conf PriorityWeightJobSize)" --priority-weight-partition "$(conf PriorityWeightPartition)"
    --priority-max-age "$(conf PriorityMaxAge)" --priority-decay-half-life "$(conf PriorityDecayHalfLife)")
  while read -r line; do
    def=
    for key in PartitionName Default MaxTime DefaultTime PriorityJobFactor PriorityTier; do
      v=$(grep -oE "(^| )$key=[^ ]*" <<<"$line" | head -1 | sed 's/^ //')
      [[ -n $v && $v != DefaultTime=NONE ]] && def+="${def:+ }$v"
    done
    CFLAGS+=(--partition-def "$def")
  done < <(PATH=$SLURM_BIN:$PATH scontrol -o show partition)
  ;;
*) echo "unknown DIFF_PROFILE=$PROFILE (default or multifactor)" >&2; exit 2;;
esac

# --- Conductor: a private daemon on binaries copied here (a rebuild cannot swap them mid-run)
mkdir -p "$TMP/bin" "$TMP/cbin" "$TMP/state"
cp "$CONDUCTOR_BIN_DIR"/{conductord,cbatch,cqueue,ccancel,cacct,ccontrol,cinfo,crun} "$TMP/bin/" || exit 2
for b in cdiag cprio cshare; do [[ -x $CONDUCTOR_BIN_DIR/$b ]] && cp "$CONDUCTOR_BIN_DIR/$b" "$TMP/bin/"; done
"$TMP/bin/conductord" --socket "$TMP/c.sock" --state-dir "$TMP/state" --cpus "$CPUS" --mem "${MEM}M" \
  "${CFLAGS[@]}" --first-job-id 70001 --kill-wait 2 --gpus 0 \
  --max-array-size "$MAXARR" >"$TMP/conductord.log" 2>&1 &
CPID=$!
export CONDUCTOR_SERVER=unix:$TMP/c.sock CONDUCTOR_NO_AUTOSTART=1
for _ in $(seq 100); do [[ -S $TMP/c.sock ]] && "$TMP/bin/ccontrol" ping >/dev/null 2>&1 && break; sleep 0.1; done
"$TMP/bin/ccontrol" ping >/dev/null 2>&1 || { echo "conductord did not start:" >&2; cat "$TMP/conductord.log" >&2; exit 2; }
"$TMP/bin/ccontrol" install-slurm-links "$TMP/cbin" >/dev/null || { echo "install-slurm-links failed" >&2; exit 2; }
CNODE=$("$TMP/bin/ccontrol" -o show node 2>/dev/null | sed -n 's/.*NodeName=\([^ ]*\).*/\1/p' | head -1)
CCLUSTER=$("$TMP/bin/ccontrol" show config 2>/dev/null | sed -n 's/^ClusterName *= *//p')
unset CONDUCTOR_SERVER CONDUCTOR_NO_AUTOSTART
echo "slurm: node $SNODE, $CPUS CPUs, ${MEM}M, partition $PART; conductor: $CONDUCTOR_BIN_DIR ($CNODE); profile $PROFILE"

# run_side SIDE SCENARIO OUTFILE: the snippet in a fresh directory, same-length path on both sides
run_side() {
  local side=$1 sc=$2 out=$3 name; name=$(basename "$sc" .sh)
  local wd=$TMP/w/$side/$name; mkdir -p "$wd"
  (
    cd "$wd" || exit 1
    if [[ $side == s ]]; then export PATH=$SLURM_BIN:$PATH SLURM_CONF
    else export PATH=$TMP/cbin:$PATH CONDUCTOR_SERVER=unix:$TMP/c.sock CONDUCTOR_NO_AUTOSTART=1; unset SLURM_CONF; fi
    export DIFF_SIDE=$side
    # a scenario that must wait longer says so in a line `# timeout: N`
    local limit; limit=$(sed -n 's/^# timeout: \([0-9][0-9]*\)$/\1/p' "$sc" | head -1)
    timeout "${limit:-$TIMEOUT}" bash -c 'source "$1"; source "$2"' _ "$HERE/lib.sh" "$sc" >"$out.stdout" 2>"$out.stderr" </dev/null
    echo $? >"$out.rc"
  )
  # leave nothing behind for the next scenario
  (
    if [[ $side == s ]]; then export PATH=$SLURM_BIN:$PATH SLURM_CONF
    else export PATH=$TMP/cbin:$PATH CONDUCTOR_SERVER=unix:$TMP/c.sock CONDUCTOR_NO_AUTOSTART=1; fi
    scancel -u "$(id -un)" >/dev/null 2>&1
    for _ in $(seq 100); do [[ -z $(squeue -h -u "$(id -un)" -o %i 2>/dev/null) ]] && break; sleep 0.2; done
  )
  { echo "--- stdout"; cat "$out.stdout"; echo "--- stderr"; cat "$out.stderr"; echo "--- exit $(cat "$out.rc")"; } >"$out"
}

# normalise FILE SIDE: ids -> J0001.. in order of appearance (same width as 7xxxx), then the rest
normalise() {
  local side=$1 node cluster
  if [[ $side == s ]]; then node=$SNODE cluster=$SCLUSTER; else node=$CNODE cluster=$CCLUSTER; fi
  NODE=$node CLUSTER=$cluster HOSTN=$(hostname) HOSTS=$(hostname -s) WD="$TMP/w/$side" TMPD=$TMP \
  SLCONF=$SLURM_CONF USERN=$(id -un) perl -pe '
    BEGIN { %m = (); $n = 0; }
    s{\Q$ENV{WD}\E}{WORKDIR}g; s{\Q$ENV{TMPD}\E}{TMPDIR}g; s{\Q$ENV{SLCONF}\E}{SLURM_CONF_PATH}g;
    s{(?<![0-9])(7[0-9]{4})(?![0-9])}{ $m{$1} //= sprintf("J%04d", ++$n); $m{$1} }ge;
    s{\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d}{YYYY-MM-DDTHH:MM:SS}g;
    s{\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 0-9]\d \d\d:\d\d:\d\d \d{4}\b}{DAY MON DD HH:MM:SS YYYY}g;
    # elapsed times under a minute (every scenario is shorter): the seconds; limits keep theirs
    s{(?<![:\d-])((?:0-)?0{1,2}:00):\d\d(?![:\d])}{$1:SS}g;   # 00:00:07, 0-00:00:07
    s{(?<![:\d-])0:0\d(?![:\d])}{0:0S}g;   # 0:07 (not 0:15, an exit code by signal)
    s{(AllocNode:Sid=[^: ]*):\d+}{$1:SID}g;
    for my $k (qw(NODE HOSTN HOSTS)) { my $v = $ENV{$k}; next unless length $v; s{(?<![\w.-])\Q$v\E(?![\w-])}{NODE}g; }
    if (length $ENV{CLUSTER}) { s{(?<![\w-])\Q$ENV{CLUSTER}\E(?![\w-])}{CLUSTER}g; }
    s{\b(pid|PID|TASK_PID)=\d+}{$1=PID}g;
  '
}

# --- scenarios
shopt -s nullglob
SCEN=()
if (($#)); then for g in "$@"; do for f in "$SCEN_DIR"/*$g*.sh; do SCEN+=("$f"); done; done
else SCEN=("$SCEN_DIR"/*.sh); fi
same=0 diff=0 DIFFS=()
mkdir -p "$TMP/out"
for sc in "${SCEN[@]}"; do
  name=$(basename "$sc" .sh)
  run_side s "$sc" "$TMP/out/$name.slurm" & p1=$!
  run_side c "$sc" "$TMP/out/$name.conductor" & p2=$!
  wait $p1 $p2
  normalise s <"$TMP/out/$name.slurm" >"$TMP/out/$name.slurm.norm"
  normalise c <"$TMP/out/$name.conductor" >"$TMP/out/$name.conductor.norm"
  if cmp -s "$TMP/out/$name.slurm.norm" "$TMP/out/$name.conductor.norm"; then
    echo "same $name"; same=$((same+1))
  else
    echo "DIFF $name"; diff=$((diff+1)); DIFFS+=("$name")
    diff -u --label "slurm/$name" --label "conductor/$name" "$TMP/out/$name.slurm.norm" "$TMP/out/$name.conductor.norm" | sed 's/^/    /'
  fi
done
echo "$same same, $diff different${DIFFS:+ (${DIFFS[*]})}"
[[ $diff == 0 ]]
