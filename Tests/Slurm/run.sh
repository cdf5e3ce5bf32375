#!/usr/bin/env bash
# Runs the shipped Slurm scripts (deploy/slurm) against a real, local Slurm: installs Debian's
# slurm-wlm, munge and jq when missing, starts munged, slurmctld and slurmd on this machine with a
# generated one-node configuration (its own ports, state and logs in a temporary folder), submits
# the demo evaluations as job arrays (segmentation N=3, detection N=2, classification N=5) with
# their afterok merge jobs, waits (bounded), and checks that each merged record's metrics equal
# those of an unsharded run. Then it stops the daemons it started (by pid) and removes the folder.
# Fails with the daemons' log tails, never hangs, when Slurm cannot start or a job fails.
#
#   Tests/Slurm/run.sh             (after swift build -c release; SLURM_TEST_TIMEOUT seconds, default 600)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
timeout_s="${SLURM_TEST_TIMEOUT:-600}"

need=()
for p in slurm-wlm munge jq; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
[ "$(id -u)" -eq 0 ] || { echo "slurm: the test cluster runs as root (SlurmUser=root); run as root" >&2; exit 1; }

bin="$(swift build -c release --show-bin-path)"
for t in replk-cls replk-seg replk-det; do [ -x "$bin/$t" ] || { echo "slurm: $bin/$t missing; run swift build -c release first" >&2; exit 1; }; done
export PATH="$bin:$PATH"

tmp="$(mktemp -d /tmp/replk-slurm.XXXXXX)"
chmod 755 "$tmp"
pids=()
export SLURM_CONF="$tmp/slurm.conf"
logs() {
    for f in "$tmp"/munged.log "$tmp"/slurmctld.log "$tmp"/slurmd.log; do
        [ -f "$f" ] && { echo "--- $f (last 25 lines)"; tail -25 "$f"; }
    done
    for f in "$tmp"/results/*/slurm-*.out; do [ -f "$f" ] && { echo "--- $f"; tail -15 "$f"; }; done
    return 0
}
cleanup() {
    local rc=$?
    if [ ${#pids[@]} -gt 0 ]; then
        scancel --full $(squeue -h -o %A 2>/dev/null) >/dev/null 2>&1 || true
        for i in $(seq 20); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.5; done
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
        for p in "${pids[@]}"; do
            for i in $(seq 20); do kill -0 "$p" 2>/dev/null || break; sleep 0.25; done
            kill -9 "$p" 2>/dev/null || true
        done
    fi
    [ "$rc" -eq 0 ] || logs
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "slurm: FAILED: $*" >&2; exit 1; }

# munge: its own key, socket, pid and log in $tmp.
mkdir -p "$tmp/munge" "$tmp/state" "$tmp/spool"
chmod 700 "$tmp/munge"
dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$tmp/munge/munge.key"
socket="$tmp/munge/munge.socket"
munged --foreground --force --key-file="$tmp/munge/munge.key" --socket="$socket" --pid-file="$tmp/munge/munged.pid" \
    --seed-file="$tmp/munge/munged.seed" --log-file="$tmp/munged.log" >/dev/null 2>&1 &
pids+=($!)
for i in $(seq 40); do [ -S "$socket" ] && break; sleep 0.25; done
[ -S "$socket" ] || fail "munged did not start"

host="$(hostname -s)"
cpus="$(nproc)"
cat > "$SLURM_CONF" <<CONF
ClusterName=replktest
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
SlurmctldPort=16917
SlurmdPort=16918
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
slurmctld -D -i -f "$SLURM_CONF" >"$tmp/slurmctld.stdout" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" >"$tmp/slurmd.stdout" 2>&1 &
pids+=($!)
state=""
for i in $(seq 60); do
    state="$(sinfo -h -o %T 2>/dev/null | head -1 || true)"
    [ "$state" = idle ] && break
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || fail "a Slurm daemon exited at start"; done
    sleep 0.5
done
[ "$state" = idle ] || fail "the node did not become idle in 30 s (state: ${state:-none})"
echo "slurm: cluster up ($host, $cpus CPUs); $(sinfo --version)"

demo="$root/Datasets/Demo"
seg=(replk-seg --data ade20k --root "$demo/ADEChallengeData2016" --checkpoint "$demo/seg/upernet_replknet_shapes_ade.pth" --scale 1024,256)
det=(replk-det --data coco --root "$demo/coco" --checkpoint "$demo/det/cascade_mask_rcnn_replknet_shapes_coco.pth" --scale 256,256)
cls=(replk-cls --data imagenet --root "$demo/imagenet/val" --checkpoint "$demo/cls/replknet_shapes_cls.pth")

start=$(date +%s)
declare -A merges
for spec in "seg 3" "det 2" "cls 5"; do
    set -- $spec
    name="$1" n="$2"
    declare -n cmd="$name"
    out="$(deploy/slurm/submit.sh "$n" "${cmd[@]}" --threads 1 --results "$tmp/results/$name")" || fail "submit.sh $name"
    echo "slurm: $name: $out"
    merges[$name]="$(echo "$out" | sed -E 's/.*merge ([0-9]+).*/\1/')"
done

# The unsharded runs, outside Slurm, while the arrays run.
for name in seg det cls; do
    declare -n cmd="$name"
    "${cmd[0]}" eval "${cmd[@]:1}" --results "$tmp/single/$name" >"$tmp/single-$name.out" 2>&1 || { cat "$tmp/single-$name.out"; fail "unsharded $name"; }
done

while [ -n "$(squeue -h 2>/dev/null)" ]; do
    [ $(( $(date +%s) - start )) -lt "$timeout_s" ] || { squeue; fail "jobs still queued after $timeout_s s"; }
    if squeue -h -o '%r' | grep -q DependencyNeverSatisfied; then squeue; fail "a shard failed (its merge can never run)"; fi
    sleep 1
done
echo "slurm: every job finished in $(( $(date +%s) - start )) s"

for name in seg det cls; do
    dir="$tmp/results/$name"
    merged="$(ls "$dir"/*-merged*.json 2>/dev/null | head -1)"
    [ -n "$merged" ] || fail "$name: the merge job wrote no record (merge log: $(cat "$dir"/slurm-merge-*.out 2>/dev/null | tail -3))"
    single="$(ls "$tmp/single/$name"/*.json | head -1)"
    [ "$(jq -S -c .metrics "$merged")" = "$(jq -S -c .metrics "$single")" ] || fail "$name: merged metrics differ from the unsharded run's"
    [ "$(jq .images "$merged")" = "$(jq .images "$single")" ] || fail "$name: image counts differ"
    shards="$(jq .shards "$merged")"
    echo "slurm: $name: $shards shards merged by job ${merges[$name]}: metrics equal to the unsharded run's ($(jq .images "$merged") images)"
done
echo "slurm: passed"
