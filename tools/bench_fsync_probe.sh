#!/usr/bin/env bash
# How hard a 3-node craftd drives the disk under a SET load: starts a fresh cluster (clients on
# 7501-7503, peers 7601-7603, metrics 7521-7523, data in a new temporary directory), loads the
# leader with redis-benchmark (SET, 50 clients, 64-byte values, random keys), and prints each
# node's fdatasyncs per second, their mean duration, the share of the run its log writer spent
# syncing, and SETs per fdatasync, from the nodes' own craftd_wal_fsync_duration_seconds.
# Usage: tools/bench_fsync_probe.sh [CRAFTD] [REQUESTS]   (default build-bench/bin/craftd, 200000)
# Every process it starts is stopped by its pid; the run is bounded by the request count.
set -eu

craftd=${1:-build-bench/bin/craftd}
requests=${2:-200000}
dir=$(mktemp -d /tmp/craft-fsync-probe.XXXXXX)
peers="1@127.0.0.1:7601,2@127.0.0.1:7602,3@127.0.0.1:7603"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$dir"
}
trap cleanup EXIT

for i in 1 2 3; do
    "$craftd" --id "$i" --bind 127.0.0.1 --port "750$i" --peer-port "760$i" --dir "$dir/n$i" \
        --peers "$peers" --metrics-port "752$i" --log-level warn &
    pids+=($!)
done
leader=""
for _ in $(seq 1 100); do
    for i in 1 2 3; do
        if redis-cli -p "750$i" info raft 2>/dev/null | grep -q '^role:leader'; then
            leader=$i
        fi
    done
    [ -n "$leader" ] && break
    sleep 0.1
done
[ -n "$leader" ] || { echo "bench_fsync_probe: no leader within 10 s" >&2; exit 1; }
redis-cli -p "750$leader" set warm 1 >/dev/null

scrape() {
    for i in 1 2 3; do
        python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())' \
            "http://127.0.0.1:752$i/metrics" |
            awk -v n="$i" '/^craftd_wal_fsync_duration_seconds_(count|sum) / { print n, $1, $2 }'
    done
}
scrape > "$dir/before"
start=$(date +%s.%N)
timeout 300 redis-benchmark -p "750$leader" -t set -n "$requests" -c 50 -d 64 -r 100000 -q |
    tr '\r' '\n' | grep 'requests per second' | tail -1
end=$(date +%s.%N)
scrape > "$dir/after"

python3 - "$dir/before" "$dir/after" "$start" "$end" "$requests" "$leader" <<'PY'
import sys

def figures(path):
    out = {}
    for line in open(path):
        node, name, value = line.split()
        out[(node, name.rsplit("_", 1)[1])] = float(value)
    return out

before, after = figures(sys.argv[1]), figures(sys.argv[2])
seconds = float(sys.argv[4]) - float(sys.argv[3])
requests, leader = int(sys.argv[5]), sys.argv[6]
for node in "123":
    n = after[(node, "count")] - before[(node, "count")]
    busy = after[(node, "sum")] - before[(node, "sum")]
    print("node %s%s: %.0f fdatasync/s, mean %.0f us, syncing %.0f %% of the run, %.1f SET per "
          "fdatasync" % (node, " (leader)" if node == leader else "", n / seconds,
                         busy / n * 1e6 if n else 0, 100 * busy / seconds,
                         requests / n if n else 0))
PY
