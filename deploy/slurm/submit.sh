#!/usr/bin/env bash
# Submits a sharded RepLK evaluation to Slurm: an array of N shards, then the merge, which runs only
# if every shard succeeded (afterok). Prints the two job ids.
#
#   deploy/slurm/submit.sh N TOOL EVAL-OPTIONS... --results DIR
#   e.g. deploy/slurm/submit.sh 8 replk-det --data coco --root /data/coco \
#            --checkpoint cascade.pth --results /shared/results/cascade
#
# Other sbatch options come from the environment (SBATCH_PARTITION, SBATCH_ACCOUNT, …, read by
# sbatch itself), or EVAL_SBATCH_OPTIONS / MERGE_SBATCH_OPTIONS (e.g. "--cpus-per-task=16").
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
n="${1:?usage: submit.sh N TOOL EVAL-OPTIONS... --results DIR}"
tool="${2:?usage: submit.sh N TOOL EVAL-OPTIONS... --results DIR}"
shift 2
case "$n" in ''|*[!0-9]*|0) echo "submit.sh: N must be a positive integer, not '$n'" >&2; exit 64 ;; esac
results=""
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[$i]}" in
        --results) results="${args[$((i + 1))]:-}" ;;
        --results=*) results="${args[$i]#--results=}" ;;
    esac
done
[ -n "$results" ] || { echo "submit.sh: give --results DIR (a folder every node sees)" >&2; exit 64; }
mkdir -p "$results"
# shellcheck disable=SC2086
array=$(sbatch --parsable ${EVAL_SBATCH_OPTIONS:-} --array=0-$((n - 1)) --output="$results/slurm-eval-%A_%a.out" \
    "$here/eval-array.sbatch" "$tool" "$@")
array="${array%%;*}"
# shellcheck disable=SC2086
merge=$(sbatch --parsable ${MERGE_SBATCH_OPTIONS:-} --dependency=afterok:"$array" --kill-on-invalid-dep=yes \
    --output="$results/slurm-merge-%j.out" "$here/merge.sbatch" "$tool" --results "$results")
merge="${merge%%;*}"
echo "array $array ($n shards), merge $merge; the merged tables will be in $results/slurm-merge-$merge.out"
