#!/bin/sh
# A worker that dies (here: a test-only abort inside one seed, as a failed CRAFT_ASSERT does) is a
# violation that names its seed, what fired and the replay command; the seeds after it still run
# and the summary accounts for every seed, with one worker or two, and --stop-on-violation stops.
set -u
sim="$1"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
fail() { echo "FAIL: $*"; cat "$out"; exit 1; }

"$sim" --seeds 20 --steps 2000 --jobs 2 --selftest-abort-at-seed 7 >"$out" 2>/dev/null
[ $? -eq 1 ] || fail "--jobs 2: exit status is not 1"
grep -q '^seeds=20 .* violations=1$' "$out" || fail "--jobs 2: summary does not count 20 seeds, 1 violation"
grep -q '^VIOLATION seed=7 invariant=worker_died signal=6$' "$out" || fail "--jobs 2: no worker_died report for seed 7"
grep -q '^  stderr: craft: assertion failed: .*selftest' "$out" || fail "--jobs 2: the assertion text is not quoted"
grep -q -- '^  replay: .*craft-sim --seed 7 --steps 2000 --nodes [357]$' "$out" || fail "--jobs 2: no replay command"
grep -q '^first violating seed: 7 ' "$out" || fail "--jobs 2: first violating seed is not 7"
[ "$(grep -c '^VIOLATION' "$out")" -eq 1 ] || fail "--jobs 2: more than one violation reported"
echo "jobs 2: $(tail -n 1 "$out")"

# Without the abort the same seeds pass: the one violation above is the dead worker.
"$sim" --seeds 20 --steps 2000 --jobs 2 >"$out" 2>/dev/null || fail "the seeds fail without the abort"
grep -q '^seeds=20 .* violations=0$' "$out" || fail "summary without the abort"

"$sim" --seeds 6 --steps 2000 --jobs 1 --selftest-abort-at-seed 2 >"$out" 2>/dev/null
[ $? -eq 1 ] || fail "--jobs 1: exit status is not 1"
grep -q '^seeds=6 .* violations=1$' "$out" || fail "--jobs 1: the run did not survive the crash"
grep -q '^VIOLATION seed=2 invariant=worker_died' "$out" || fail "--jobs 1: no report for seed 2"
echo "jobs 1: $(tail -n 1 "$out")"

"$sim" --seeds 20 --steps 2000 --jobs 1 --stop-on-violation --selftest-abort-at-seed 3 >"$out" 2>/dev/null
[ $? -eq 1 ] || fail "--stop-on-violation: exit status is not 1"
grep -q '^seeds=3 .* violations=1$' "$out" || fail "--stop-on-violation did not stop at seed 3"
echo "stop-on-violation: $(tail -n 1 "$out")"
echo "PASS"
