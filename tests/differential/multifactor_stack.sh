#!/usr/bin/env bash
# The live Slurm of shared/slurm-live/slurm_stack.sh under priority/multifactor with three
# partitions, for the scenarios under scenarios-multifactor/ (run.sh's DIFF_PROFILE=multifactor).
# slurm_stack.sh builds SchedulerParameters itself and ends it with KillWait=$SLURM_DIFF_KILLWAIT;
# a newline in that value appends slurm.conf lines after it, which is how the multifactor lines and
# the two extra partitions get in without a copy of the stack script.
#   usage: multifactor_stack.sh start|stop|status    (state under $SLURM_LIVE_DIR, default /tmp/slurm-mf)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
STACK=${SLURM_STACK:-$(cd "$HERE/../../.." && pwd)/shared/slurm-live/slurm_stack.sh}
export SLURM_LIVE_DIR=${SLURM_LIVE_DIR:-/tmp/slurm-mf}
NODE=$(hostname -s)
# keep in step with run.sh's conductord flags for the multifactor profile
EXTRA="PriorityType=priority/multifactor
PriorityWeightAge=1000
PriorityWeightFairshare=1000
PriorityWeightJobSize=1000
PriorityWeightPartition=1000
PriorityMaxAge=7-0
PriorityDecayHalfLife=7-0
PriorityCalcPeriod=1
PriorityFlags=NO_FAIR_TREE
PartitionName=short Nodes=$NODE MaxTime=30 State=UP
PartitionName=high Nodes=$NODE PriorityJobFactor=10 State=UP"
export SLURM_DIFF_KILLWAIT="${SLURM_DIFF_KILLWAIT:-2}
$EXTRA"
exec "$STACK" "$@"
