#!/usr/bin/env bash
# How much of the 50-client SET's gap to redis is the fdatasyncs: redis (appendfsync always, on
# the disk) and a 3-node craftd with 0, 1, 2 and 3 of its nodes' data on tmpfs (/dev/shm: an
# fdatasync there costs nothing), in turn, ROUNDS times; each craftd figure is printed with its
# ratio to the redis run of the same round. Node 1 is made the leader (a shorter election
# timeout), so "1 on tmpfs" is a follower whose syncs cost nothing: the most any scheme that
# syncs one follower less often could buy.
#   Usage: tools/bench_disk_bounds.sh [CRAFTD] [ROUNDS] [REQUESTS]
#   (defaults build-bench/bin/craftd, 2, 200000)
# Ports 7501-7503, 7601-7603, 7510. Every process it starts is stopped by its pid; each load is
# bounded by its request count and a timeout. Needs redis-server and redis-tools.
set -eu

craftd=${1:-build-bench/bin/craftd}
rounds=${2:-2}
requests=${3:-200000}
disk=$(mktemp -d /var/tmp/craft-bounds.XXXXXX)
shm=$(mktemp -d /dev/shm/craft-bounds.XXXXXX)
peers="1@127.0.0.1:7601,2@127.0.0.1:7602,3@127.0.0.1:7603"
pids=()

stop_all() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    pids=()
}
trap 'stop_all; rm -rf "$disk" "$shm"' EXIT

# Writes "SET/s p50_ms" of the 50-client SET against PORT to $disk/result (not through a
# subshell, so the pids stay this shell's to stop).
load() {
    timeout 120 redis-benchmark -h 127.0.0.1 -p "$1" -t set -n "$requests" -c 50 -d 64 \
        -r 100000 --csv | awk -F'"' 'NR == 2 { print $4, $10 }' >"$disk/result"
}

redis_run() {
    local dir="$disk/redis"
    rm -rf "$dir" && mkdir -p "$dir"
    redis-server --port 7510 --bind 127.0.0.1 --dir "$dir" --appendonly yes \
        --appendfsync always --save "" >"$dir.log" 2>&1 &
    pids+=($!)
    local deadline=$((SECONDS + 10))
    until redis-cli -p 7510 PING >/dev/null 2>&1 || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
    load 7510
    stop_all
}

# craftd_run K: nodes 3, 2, ... (followers first) get their data on tmpfs, K of them.
craftd_run() {
    local k=$1 i dir
    for i in 1 2 3; do
        dir="$disk/node$i"
        [ $((4 - i)) -le "$k" ] && dir="$shm/node$i"
        rm -rf "$dir" && mkdir -p "$dir"
        local timeout_ms=1000
        [ "$i" = 1 ] && timeout_ms=150
        "$craftd" --id "$i" --bind 127.0.0.1 --port "750$i" --peer-port "760$i" --dir "$dir" \
            --peers "$peers" --log-level warn --election-timeout-ms "$timeout_ms" \
            2>>"$disk/node$i.log" &
        pids+=($!)
    done
    local deadline=$((SECONDS + 15))
    until redis-cli -p 7501 INFO raft 2>/dev/null | grep -q "role:leader" ||
        [ $SECONDS -ge $deadline ]; do
        sleep 0.1 # a poll with a deadline
    done
    load 7501
    stop_all
}

printf '%-6s %-22s %10s %8s %8s\n' round system SET/s p50_ms /redis
for r in $(seq 1 "$rounds"); do
    redis_run
    read -r base p50 <"$disk/result"
    printf '%-6s %-22s %10.0f %8s %8s\n' "$r" "redis always" "$base" "$p50" "1.00"
    for k in 0 1 2 3; do
        craftd_run "$k"
        read -r rps p50 <"$disk/result"
        awk -v r="$r" -v k="$k" -v rps="$rps" -v p50="$p50" -v base="$base" 'BEGIN {
            printf "%-6s %-22s %10.0f %8s %8.2f\n", r, "craftd, " k " on tmpfs", rps, p50, rps / base }'
    done
done
