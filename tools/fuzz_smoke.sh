#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/) with clang into build-fuzz/ and runs each one for a
# short, bounded time over its seed corpus; fails if any target crashes, leaks or trips a
# sanitizer. New inputs go to a scratch directory, never into the checked-in corpus.
# Usage: tools/fuzz_smoke.sh [seconds per target, default 20]   (CRAFT_FUZZ_BUILD=<dir> to build elsewhere)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${CRAFT_FUZZ_BUILD:-$root/build-fuzz} # the build directory; override for a private one
seconds=${1:-20}
targets=(fuzz_wal_recovery fuzz_snapshot_reader fuzz_identity fuzz_wire fuzz_kv_entry fuzz_kv_snapshot fuzz_resp)

cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang -DCRAFT_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)" --target "${targets[@]}"

scratch=$(mktemp -d /tmp/craft-fuzz.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
status=0
for t in "${targets[@]}"; do
    mkdir -p "$scratch/$t"
    echo "== $t (${seconds}s)"
    # -runs bounds a very fast target too; -timeout catches a hang in one input.
    if ! "$build/bin/$t" -max_total_time="$seconds" -runs=20000000 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$scratch/$t-" -print_final_stats=1 \
        "$scratch/$t" "$root/tests/fuzz/corpus/$t" >"$scratch/$t.log" 2>&1; then
        status=1
        echo "!! $t failed:"
        grep -E "ERROR|SUMMARY|property failed|Test unit written" "$scratch/$t.log" | head -20
        for a in "$scratch/$t"-*; do
            [ -e "$a" ] || continue
            mkdir -p "$build/fuzz-artifacts"
            cp "$a" "$build/fuzz-artifacts/"
            echo "   crashing input kept: $build/fuzz-artifacts/$(basename "$a")"
        done
    fi
    grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|^#[0-9]+.*DONE" "$scratch/$t.log" || true
done
exit $status
