#!/usr/bin/env bash
# Builds the libFuzzer targets of this package (Tests/Fuzz) with ASan and runs each for a bounded
# time from its seed corpus (Corpus/<target>), after replaying every regression input
# (Tests/Fixtures/fuzz-regressions/<target>/). Fails on any crash, trap, leak, timeout (-timeout
# seconds for one input) or allocation past -rss_limit_mb, printing the input's path and its report.
#
#   Tests/Fuzz/run.sh [target ...]          (default: every target)
#   FUZZ_SECONDS   seconds per target (default 30)
#   FUZZ_JOBS      targets fuzzed at once (default: the number of CPUs, at most 2)
#   FUZZ_OUT       working corpora, logs and crashing inputs (default Tests/Fuzz/.build/fuzz-out)
#   FUZZ_NO_BUILD  set to 1 to use the binaries already built
#   FUZZ_BIN       folder of the binaries (default: this package's release build folder)
#   FUZZ_SCRATCH   build folder (default Tests/Fuzz/.build)
#   FUZZ_SEED      libFuzzer's -seed (default: a random one per run); .ci/run fixes it so that a CI
#                  run's mutations, and so a failure it reports, can be repeated
#   FUZZ_KEEP_GOING set to 1 for long runs: fork mode, going on past crashes, timeouts and OOMs
#                  (each one is still saved and makes the run fail)
# New inputs found go to $FUZZ_OUT/corpus/<target>, never into the committed seeds.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"

all=(fuzz-pth fuzz-legacy-pth fuzz-safetensors fuzz-npy fuzz-coco-gt fuzz-coco-results fuzz-rle fuzz-png fuzz-jpeg fuzz-journal)
targets=("$@"); [ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
seconds="${FUZZ_SECONDS:-30}"
jobs="${FUZZ_JOBS:-$(n=$(nproc); echo $(( n < 2 ? n : 2 )))}"
out="${FUZZ_OUT:-$here/.build/fuzz-out}"

# Longest input libFuzzer makes, per target: a little above the largest seed.
max_len() {
    case "$1" in
        fuzz-pth) echo 8192 ;; fuzz-legacy-pth) echo 4096 ;; fuzz-safetensors) echo 2048 ;; fuzz-npy) echo 1024 ;;
        fuzz-coco-gt|fuzz-coco-results) echo 16384 ;; fuzz-rle) echo 1024 ;; fuzz-png) echo 2048 ;; fuzz-jpeg) echo 4096 ;;
        fuzz-journal) echo 4096 ;; *) echo 4096 ;;
    esac
}

scratch=(); [ -z "${FUZZ_SCRATCH:-}" ] || scratch=(--scratch-path "$FUZZ_SCRATCH")
if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
    start=$(date +%s)
    for t in "${targets[@]}"; do
        # -sanitize=fuzzer,address as one flag: given as two (--sanitize=fuzzer --sanitize=address),
        # swiftc keeps only the last, and the code then has no coverage or no ASan. --sanitize=fuzzer
        # stays so that SwiftPM links libFuzzer's main; -Xcc instruments the C codec wrappers too.
        swift build "${scratch[@]}" -c release --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library \
            -Xcc -fsanitize=fuzzer-no-link,address --product "$t"
    done
    echo "fuzz: built ${#targets[@]} targets in $(( $(date +%s) - start )) s"
fi
bin="${FUZZ_BIN:-$(swift build "${scratch[@]}" -c release --show-bin-path)}"

export LSAN_OPTIONS="suppressions=$here/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
# libFuzzer and ASan print the stack of a failure themselves; Swift's own crash handler would start
# swift-backtrace, which reads memory ASan then reports, and can hang the run.
export SWIFT_BACKTRACE=enable=no
mkdir -p "$out"

# Prints the report of one failing input by running the target on it alone.
show() {
    local t="$1" input="$2"
    echo "fuzz: $t FAILED on $input"
    timeout 120 "$bin/$t" -rss_limit_mb=2048 -timeout=10 -runs=1 "$input" 2>&1 | grep -vE '^INFO:|^(MS|artifact_prefix|Base64):' | tail -40 || true
}

run_one() {
    local t="$1"
    local work="$out/corpus/$t" crashes="$out/crashes/$t" log="$out/$t.log"
    rm -rf "$crashes"; mkdir -p "$work" "$crashes"
    local common=(-rss_limit_mb=2048 -timeout=10 -max_len="$(max_len "$t")" -artifact_prefix="$crashes/")
    # Journal lines that do not decode are reported on stderr, once per line: close the target's
    # stderr while fuzzing (a failing input is replayed with it by show()).
    [ "$t" = fuzz-journal ] && common+=(-close_fd_mask=2)
    [ -z "${FUZZ_SEED:-}" ] || common+=(-seed="$FUZZ_SEED")
    local keep=()
    [ "${FUZZ_KEEP_GOING:-0}" = 1 ] && keep=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
    local regressions="$root/Tests/Fixtures/fuzz-regressions/$t"
    if [ -d "$regressions" ] && [ -n "$(ls -A "$regressions")" ]; then
        if ! "$bin/$t" "${common[@]}" -runs=0 "$regressions"/* >"$out/$t.regressions.log" 2>&1; then
            for f in "$regressions"/*; do
                "$bin/$t" -rss_limit_mb=2048 -timeout=10 -runs=1 "$f" >/dev/null 2>&1 || show "$t" "$f"
            done
            return 1
        fi
    fi
    local rc=0
    "$bin/$t" "${common[@]}" -max_total_time="$seconds" -print_final_stats=1 "${keep[@]}" "$work" "$here/Corpus/$t" >"$log" 2>&1 || rc=$?
    # Executions: the final stats, or in fork mode the last status line's "#N".
    local runs; runs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' | tail -1 || true)
    [ -n "$runs" ] || runs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#' || true)
    # slow-unit-* files only say that one input took long (the machine may have been busy): not failures.
    # A timeout-* input is run again alone; one that now finishes within the limit was the machine's
    # load, not the input's (said, not failed).
    local f
    for f in "$crashes"/slow-unit-* "$crashes"/timeout-*; do
        [ -e "$f" ] || continue
        case "$(basename "$f")" in
            slow-unit-*) mkdir -p "$out/slow/$t"; mv "$f" "$out/slow/$t/" ;;
            timeout-*)
                if timeout 120 "$bin/$t" -rss_limit_mb=2048 -timeout=10 -runs=1 "$f" >/dev/null 2>&1; then
                    echo "fuzz: $t: $(basename "$f") finished within 10 s when run again alone (machine load); kept in $out/slow/$t"
                    mkdir -p "$out/slow/$t"; mv "$f" "$out/slow/$t/"
                fi ;;
        esac
    done
    # (without -fork, libFuzzer stops at that timeout: the target then ran for less than its time)
    if [ "$rc" -ne 0 ] && [ -z "$(ls -A "$crashes")" ] && grep -q 'ERROR: libFuzzer: timeout after' "$log"; then
        echo "fuzz: $t: stopped early by a timeout that did not reproduce"
        rc=0
    fi
    local found; found=$(ls -A "$crashes")
    if [ "$rc" -ne 0 ] || [ -n "$found" ]; then
        echo "fuzz: $t: exit $rc after ${runs:-?} runs; log $log"
        for f in "$crashes"/*; do [ -e "$f" ] && show "$t" "$f"; done
        [ -n "$found" ] || tail -30 "$log"
        return 1
    fi
    echo "fuzz: $t: ${runs:-?} runs in ${seconds} s, no failure (corpus $(ls "$work" | wc -l) files)"
}

export -f run_one show max_len
export bin out here root seconds
failed=0
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one "$1"' _ {} || failed=1
if [ "$failed" -ne 0 ]; then
    echo "fuzz: FAILED (crashing inputs under $out/crashes; copy each to Tests/Fixtures/fuzz-regressions/<target>/)"
    exit 1
fi
echo "fuzz: all ${#targets[@]} targets passed"
