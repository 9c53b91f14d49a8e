#!/usr/bin/env bash
# Coverage of the core (src/core/*.c) by the tests that exercise it: builds build-cov/ with gcc
# --coverage, runs the unit tests and golden traces, the lab scenarios and a bounded simulator
# swarm, then prints line and branch coverage per file and lists every branch never taken
# (branches of CRAFT_ASSERT, which fire only on a programmer error, are counted apart).
#   tools/coverage.sh            Environment: SEEDS (2000), STEPS (3000), JOBS (2), DIR (build-cov),
#                                SIM_ONLY=1 (the simulator alone: no unit tests, traces or labs)
set -euo pipefail

cd "$(dirname "$0")/.."
DIR=${DIR:-build-cov}
SEEDS=${SEEDS:-2000}
STEPS=${STEPS:-3000}
JOBS=${JOBS:-2}
SIM_ONLY=${SIM_ONLY:-0}

if [ ! -f "$DIR/CMakeCache.txt" ]; then
    gen=()
    command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)
    cmake -S . -B "$DIR" "${gen[@]}" -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Debug \
        -DCMAKE_C_FLAGS="--coverage -O0" -DCMAKE_EXE_LINKER_FLAGS=--coverage >/dev/null
fi
cmake --build "$DIR" --parallel "$JOBS" >/dev/null
find "$DIR" -name '*.gcda' -delete

if [ "$SIM_ONLY" != 1 ]; then
    echo "coverage: unit tests and golden traces"
    (cd "$DIR" && ctest --parallel "$JOBS" -LE 'slow|sim' --output-on-failure >/dev/null)
    echo "coverage: lab scenarios"
    "$DIR/bin/craft-sim" --lab all >/dev/null
fi
echo "coverage: swarm of $SEEDS seeds x $STEPS steps"
# craft-sim's --jobs workers end with _exit, which skips gcov's dump: run JOBS processes of one
# worker each over slices of the seeds instead (gcov merges their counts under a file lock).
per=$(((SEEDS + JOBS - 1) / JOBS))
pids=()
for ((j = 0; j < JOBS; j++)); do
    "$DIR/bin/craft-sim" --seeds "$per" --seed-start $((1 + j * per)) --steps "$STEPS" \
        | tail -1 &
    pids+=($!)
done
for p in "${pids[@]}"; do
    wait "$p"
done

objdir="$DIR/CMakeFiles/craft_core.dir/src/core"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for gcda in "$objdir"/*.gcda; do
    (cd "$tmp" && gcov --json-format --branch-probabilities --stdout "$OLDPWD/$gcda" \
        >"$(basename "$gcda" .gcda).json" 2>/dev/null)
done

python3 - "$tmp" <<'PY'
import json, os, sys

tmp = sys.argv[1]
tot = {"lines": 0, "lines_hit": 0, "br": 0, "br_hit": 0, "assert_br": 0}
rows, missed = [], []
for name in sorted(os.listdir(tmp)):
    for f in json.load(open(os.path.join(tmp, name)))["files"]:
        path = f["file"]
        if "/src/core/" not in path or not path.endswith(".c"):
            continue
        src = open(path).read().split("\n")
        lines = hit = br = br_hit = asserts = 0
        for ln in f["lines"]:
            lines += 1
            hit += ln["count"] > 0
            text = src[ln["line_number"] - 1].strip()
            is_assert = "CRAFT_ASSERT" in text
            for k, b in enumerate(ln["branches"]):
                if is_assert:
                    asserts += 1
                    continue
                br += 1
                if b["count"] > 0:
                    br_hit += 1
                else:
                    missed.append(f"{os.path.relpath(path)}:{ln['line_number']}: branch {k} "
                                  f"never taken (line run {ln['count']}x): {text}")
        rows.append((os.path.relpath(path), lines, hit, br, br_hit, asserts))
        for key, v in zip(("lines", "lines_hit", "br", "br_hit", "assert_br"),
                          (lines, hit, br, br_hit, asserts)):
            tot[key] += v

def pct(a, b):
    return 100.0 * a / b if b else 100.0

print(f"{'file':32} {'lines':>15} {'branches':>15}")
for path, lines, hit, br, br_hit, _ in rows:
    print(f"{path:32} {hit:5}/{lines:<5} {pct(hit, lines):5.1f}% {br_hit:5}/{br:<5} "
          f"{pct(br_hit, br):5.1f}%")
print(f"{'src/core total':32} {tot['lines_hit']:5}/{tot['lines']:<5} "
      f"{pct(tot['lines_hit'], tot['lines']):5.1f}% {tot['br_hit']:5}/{tot['br']:<5} "
      f"{pct(tot['br_hit'], tot['br']):5.1f}%  (+{tot['assert_br']} CRAFT_ASSERT branches)")
print(f"uncovered branches ({len(missed)}):")
for m in missed:
    print("  " + m)
PY
