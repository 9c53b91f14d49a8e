#!/bin/sh
# craft-sim --timeline: the page of a normal seed and of a violating one (a test-only synthetic
# violation) is one self-contained, bounded HTML file with a row per node, the violation marked,
# and a replay report that prints the command drawing it. With node.js present, the page's
# script is also run to draw the chart.
set -u
sim="$1"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
SIZE_MAX=3000000

check_page() { # file nodes
    f="$1"
    [ -s "$f" ] || fail "$f was not written"
    [ "$(head -n 1 "$f")" = "<!DOCTYPE html>" ] || fail "$f does not start with <!DOCTYPE html>"
    tail -n 1 "$f" | grep -q '^</html>$' || fail "$f does not end with </html>"
    size=$(wc -c <"$f")
    [ "$size" -lt "$SIZE_MAX" ] || fail "$f is $size bytes (bound $SIZE_MAX)"
    # Self-contained: nothing fetched from elsewhere.
    if grep -n -i -E 'https?://|src=|<link|@import|url\([^#]' "$f" | head -n 3 | grep .; then
        fail "$f refers to an external resource"
    fi
    i=1
    while [ "$i" -le "$2" ]; do
        grep -q "id=\"row-n$i\"" "$f" || fail "$f has no row for n$i"
        i=$((i + 1))
    done
    grep -q "\"nodes\":$2," "$f" || fail "$f data does not say $2 nodes"
    for id in chart legend kinds drops from to; do
        grep -q "id=\"$id\"" "$f" || fail "$f has no #$id"
    done
    echo "$f: $size bytes"
}

# Runs the page's scripts in node (if present) and prints the drawn SVG.
draw() {
    command -v node >/dev/null 2>&1 || return 0
    node -e '
const fs = require("fs"), vm = require("vm");
const html = fs.readFileSync(process.argv[1], "utf8");
const js = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map(m => m[1]).join("\n");
const ctx = {}; ctx.globalThis = ctx; vm.createContext(ctx); vm.runInContext(js, ctx);
ctx.timeline.state.width = 1200;
process.stdout.write(ctx.timeline.render() + "\n" + ctx.timeline.legend() + "\n");
' "$1" >"$1.svg" || fail "the page script of $1 does not run"
    grep -q '^<svg id="svg"' "$1.svg" || fail "the script of $1 draws no svg"
}

"$sim" --seed 3 --steps 3000 --nodes 5 --timeline "$dir/ok.html" >"$dir/ok.out" 2>&1 ||
    fail "seed 3 failed: $(cat "$dir/ok.out")"
check_page "$dir/ok.html" 5
grep -q 'class="good"' "$dir/ok.html" || fail "a clean run is not marked clean"
grep -q '"violation":""' "$dir/ok.html" || fail "a clean run has a violation in its data"
draw "$dir/ok.html"
if [ -f "$dir/ok.html.svg" ]; then
    grep -q '>n5</text>' "$dir/ok.html.svg" || fail "the chart has no row for n5"
    grep -q 'time (ms)' "$dir/ok.html.svg" || fail "the chart has no time axis"
    grep -q 'VIOLATION' "$dir/ok.html.svg" && fail "the chart of a clean run marks a violation"
fi

"$sim" --seed 3 --steps 3000 --nodes 5 --selftest-violate-at-step 1500 \
    --timeline "$dir/bad.html" >"$dir/bad.out" 2>&1
[ $? -eq 1 ] || fail "the synthetic violation did not fail the run"
check_page "$dir/bad.html" 5
grep -q 'VIOLATION seed=3 invariant=selftest_violation step=1500' "$dir/bad.out" ||
    fail "no violation report"
grep -q -- '^  timeline: .*craft-sim --seed 3 --steps 3000 --nodes 5 --timeline seed-3.html$' \
    "$dir/bad.out" || fail "the report does not print the timeline command"
grep -q 'class="bad"' "$dir/bad.html" || fail "the page does not flag the violation"
grep -q '"violation":"selftest_violation"' "$dir/bad.html" || fail "the data lacks the violation"
# The page marks the violation where the report says it fired.
ms=$(sed -n 's/^VIOLATION .* time=\([0-9]*\)\.\([0-9]*\)ms$/\1\2/p' "$dir/bad.out" | sed 's/^0*//')
grep -q "\"end\":$ms," "$dir/bad.html" || fail "the page's violation time is not $ms us"
draw "$dir/bad.html"
if [ -f "$dir/bad.html.svg" ]; then
    grep -q 'VIOLATION selftest_violation' "$dir/bad.html.svg" || fail "no violation label drawn"
    grep -q 'stroke="#d00000"' "$dir/bad.html.svg" || fail "no red violation line drawn"
fi

"$sim" --seeds 2 --timeline "$dir/two.html" >/dev/null 2>&1 && fail "--timeline took two seeds"
echo "PASS"
