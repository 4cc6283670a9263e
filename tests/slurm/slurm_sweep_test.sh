#!/usr/bin/env bash
# A real Slurm run of a sweep (issue 8): starts munged, slurmctld and slurmd for one node on
# localhost (everything under a scratch folder, ports of its own), emits a 4-point sweep with
# `ranklab-cli sweep --emit-slurm`, submits the array job, waits for it, merges the shards and checks
# the merged database: 4 succeeded runs, one per point, with the sweep's id; merging again adds none.
# Needs root (the daemons run as root, as in PLATFORM-NOTES.md) and Debian's slurm-wlm and munge.
# Skips with exit code 77 and a message saying why when they are missing; stops the daemons it
# started on every exit.
# Usage: slurm_sweep_test.sh RANKLAB_CLI SOURCE_DIR REFERENCE_DIR
set -uo pipefail
cli=$1 src=$2 refdir=$3
export PATH="$PATH:/usr/sbin:/sbin"

skip() { echo "SKIPPED: $*"; exit 77; }
fail() { echo "FAILED: $*"; for f in "$work"/*.log "$work"/slurm/logs/*; do [[ -f $f ]] && { echo "--- $f"; tail -n 20 "$f"; }; done; exit 1; }

[[ $(id -u) -eq 0 ]] || skip "the Slurm test starts munged, slurmctld and slurmd as root; run it as root (CI does)"
for b in munged slurmctld slurmd sbatch sinfo; do
  command -v "$b" >/dev/null || skip "$b is not installed (Debian packages slurm-wlm and munge)"
done
[[ -x $cli ]] || fail "$cli is not built"

work=$(mktemp -d /tmp/ranklab-slurm.XXXXXX)
chmod 700 "$work"
cleanup() {
  for p in slurmd slurmctld munged; do
    [[ -f $work/$p.pid ]] && kill "$(cat "$work/$p.pid")" 2>/dev/null
  done
  sleep 1
  for p in slurmd slurmctld munged; do
    [[ -f $work/$p.pid ]] && kill -9 "$(cat "$work/$p.pid")" 2>/dev/null
  done
  rm -rf "$work"
}
trap cleanup EXIT

# munge with its own key, socket and files.
head -c 1024 /dev/urandom > "$work/munge.key"
chmod 400 "$work/munge.key"
munged --force --key-file="$work/munge.key" --socket="$work/munge.socket" --pid-file="$work/munged.pid" \
  --log-file="$work/munged.log" --seed-file="$work/munged.seed" ||
  skip "munged would not start here (see above)"

host=$(hostname -s)
base=$((20000 + ($$ % 4000) * 2))
mem=$(( $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) / 2 ))
mkdir -p "$work/state" "$work/spool"
cat > "$work/slurm.conf" <<EOF
ClusterName=ranklabtest
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$work/munge.socket
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
SchedulerType=sched/backfill
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
SlurmctldPort=$base
SlurmdPort=$((base + 1))
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=ranklab Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$work/slurm.conf
slurmctld -f "$SLURM_CONF" || skip "slurmctld would not start (see $work/slurmctld.log)"
slurmd -f "$SLURM_CONF" || skip "slurmd would not start (see $work/slurmd.log)"
for _ in $(seq 60); do
  state=$(sinfo -h -o %T 2>/dev/null | head -n 1)
  [[ $state == idle* || $state == mixed* ]] && break
  sleep 0.5
done
[[ ${state:-} == idle* || ${state:-} == mixed* ]] || skip "the Slurm node did not come up (state '${state:-none}'; $work/slurmd.log)"
echo "slurm: node $host $state"

# The sweep: 2 selectors x 2 budgets, on the reference stories260K when present, else the shipped gpt-mini.
if [[ -f $refdir/stories260K/stories260K.bin ]]; then
  model="\"model\": \"$refdir/stories260K/stories260K.bin\", \"tokenizer\": \"$refdir/stories260K/tok512.bin\","
  text=$refdir/stories260K/TinyStories-valid.first69.txt
else
  model="\"model\": \"$src/resources/models/gpt-mini\","
  text=$src/resources/data/lm/test.txt
fi
cat > "$work/grid.json" <<EOF
{$model "eval": "$text", "max_eval_documents": 4, "threads": 1,
 "selector": ["uniform", "energy"], "keep": [0.3, 0.6]}
EOF
"$cli" sweep "$work/grid.json" --emit-slurm "$work/slurm" --time 00:10:00 --cpus-per-task 1 || fail "emit-slurm"
cat "$work/slurm/sweep.sbatch"
timeout 600 sbatch --wait "$work/slurm/sweep.sbatch" || fail "the array job did not complete"
echo "slurm: array job finished"
for i in 0 1 2 3; do
  [[ -f $work/slurm/shard-$i.db ]] || fail "task $i wrote no shard"
done

"$cli" merge "$work"/slurm/shard-*.db --db "$work/merged.db" || fail "merge"
again=$("$cli" merge "$work"/slurm/shard-*.db --db "$work/merged.db" --json) || fail "second merge"
sweep_id=$(sed -n 's/^# RankLab sweep \([^:]*\):.*/\1/p' "$work/slurm/sweep.sbatch")
count() { grep -o "$1" <<<"$2" | wc -l; }
all=$("$cli" runs list --db "$work/merged.db" --json) || fail "runs list"
ours=$("$cli" runs list --db "$work/merged.db" --sweep "$sweep_id" --status succeeded --json) || fail "runs list --sweep"
dry=$("$cli" sweep "$work/grid.json" --db "$work/merged.db" --dry-run --json) || fail "dry run"
"$cli" runs list --db "$work/merged.db"
[[ $(count '"uuid"' "$all") -eq 4 ]] || fail "expected 4 runs in the merged database"
[[ $(count '"uuid"' "$ours") -eq 4 ]] || fail "expected 4 succeeded runs with sweep id $sweep_id"
grep -q '"finished":4' <<<"$dry" || fail "the merged database does not hold every point of the sweep: $dry"
grep -q '"runs_added":0' <<<"$again" && grep -q '"runs_skipped":4' <<<"$again" || fail "merging again was not idempotent: $again"
echo "merged database: 4 points, one succeeded run each, sweep $sweep_id; merging again added none"
echo "slurm sweep test passed"
