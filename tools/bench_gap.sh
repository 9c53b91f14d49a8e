#!/usr/bin/env bash
# Where the 50-client SET's time goes, craftd (3 nodes) beside redis (appendfsync always), in one
# run on this machine: for each system, SET/s and p50 under `redis-benchmark -t set -c 50 -d 64
# -r 100000`, the CPU per SET of the servers and of redis-benchmark, context switches per SET, and
# how long a woken thread waited for a core (perf sched, 1 s in the middle of the load).
#   Usage: tools/bench_gap.sh [CRAFTD] [DIR] [REQUESTS]
#   (defaults build-bench/bin/craftd, a new directory under /var/tmp (the disk), 200000)
# DIR on tmpfs (e.g. /dev/shm/gap) takes the disk out for both systems. Ports 7501-7503,
# 7601-7603, 7510. Every process it starts is stopped by its pid; each load is bounded by its
# request count and a timeout. Needs perf (linux-perf), redis-server and redis-tools.
set -eu

craftd=${1:-build-bench/bin/craftd}
base=${2:-$(mktemp -d /var/tmp/craft-gap.XXXXXX)}
requests=${3:-200000}
peers="1@127.0.0.1:7601,2@127.0.0.1:7602,3@127.0.0.1:7603"
pids=()
mkdir -p "$base"

stop_all() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    pids=()
}
trap 'stop_all; rm -rf "$base"' EXIT

# Loads PORT while perf watches the server pids (comma-separated) and, for 1 s in the middle,
# every task's scheduling; prints one line of figures for NAME.
measure() {
    local name=$1 port=$2 watch=$3
    local out="$base/$name"
    perf stat -x, -e task-clock,context-switches -p "$watch" -o "$out.server" &
    local stat_pid=$!
    perf stat -x, -e task-clock,context-switches -o "$out.client" -- \
        timeout 120 redis-benchmark -h 127.0.0.1 -p "$port" -t set -n "$requests" -c 50 -d 64 \
        -r 100000 --csv --precision 3 >"$out.csv" &
    local bench_pid=$!
    sleep 1 # into the load: the sched record below samples its middle
    perf sched record -a -o "$out.sched" -- sleep 1 >/dev/null 2>&1 || true
    wait "$bench_pid"
    kill -INT "$stat_pid" 2>/dev/null
    wait "$stat_pid" 2>/dev/null || true
    local rps p50
    rps=$(awk -F'"' 'NR == 2 { printf "%.0f", $4 }' "$out.csv")
    p50=$(awk -F'"' 'NR == 2 { printf "%.0f", $10 * 1000 }' "$out.csv")
    local s_cpu s_cs c_cpu
    s_cpu=$(awk -F, '$3 == "task-clock" { print $1 }' "$out.server")
    s_cs=$(awk -F, '$3 == "context-switches" { print $1 }' "$out.server")
    c_cpu=$(awk -F, '$3 == "task-clock" { print $1 }' "$out.client")
    # perf sched latency: "comm:pid | runtime | switches | avg: X ms | max: ..." per task; the
    # average wait of a woken thread, weighted by its switches, per program.
    local sched
    sched=$(perf sched latency -i "$out.sched" 2>/dev/null | awk -F'|' '
        /avg:/ {
            split($1, c, ":"); comm = c[1]; gsub(/ /, "", comm)
            n = $3 + 0; a = $4; sub(/.*avg:/, "", a); a = a + 0
            w[comm] += n * a; s[comm] += n
        }
        END {
            for (k in s) if ((k ~ /^craftd/ || k ~ /^redis/) && s[k] > 0)
                printf "%s %.0fus/%d ", k, 1000 * w[k] / s[k], s[k]
        }')
    awk -v name="$name" -v rps="$rps" -v p50="$p50" -v n="$requests" -v s="$s_cpu" \
        -v cs="$s_cs" -v c="$c_cpu" -v sched="$sched" 'BEGIN {
        printf "%-14s %7d SET/s  p50 %5d us  server CPU %5.1f us/SET  redis-benchmark %4.1f us/SET  switches %4.2f/SET  wait for a core: %s\n",
            name, rps, p50, 1000 * s / n, 1000 * c / n, cs / n, sched }'
}

redis-server --port 7510 --bind 127.0.0.1 --dir "$base" --save "" --appendonly yes \
    --appendfsync always >"$base/redis.log" 2>&1 &
pids+=($!)
deadline=$((SECONDS + 10))
until redis-cli -p 7510 PING >/dev/null 2>&1 || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
measure redis_always 7510 "${pids[0]}"
stop_all

for i in 1 2 3; do
    mkdir -p "$base/node$i"
    "$craftd" --id "$i" --bind 127.0.0.1 --port "750$i" --peer-port "760$i" --dir "$base/node$i" \
        --peers "$peers" --log-level warn 2>>"$base/node$i.log" &
    pids+=($!)
done
leader=""
deadline=$((SECONDS + 15))
while [ -z "$leader" ] && [ $SECONDS -lt $deadline ]; do
    for i in 1 2 3; do
        if redis-cli -p "750$i" INFO raft 2>/dev/null | grep -q "role:leader"; then leader=$i; fi
    done
    [ -n "$leader" ] || sleep 0.1 # a poll with a deadline
done
[ -n "$leader" ] || { echo "bench_gap: no craftd leader within 15 s" >&2; exit 1; }
measure craftd_3 "750$leader" "$(IFS=,; echo "${pids[*]}")"
stop_all
