#!/usr/bin/env bash
# Before/after of craftd binaries on this machine, interleaved: each round starts a fresh 3-node
# cluster of one binary, loads its leader with redis-benchmark (SET 50 clients, SET one client,
# GET 50 clients; 64-byte values, random keys), stops it, then does the same with the next
# binary (the order rotates every round), then one redis-server with appendfsync always and one
# without persistence as the reference. During each craftd SET c50 and GET c50, perf stat
# counts the three processes' context switches and CPU time. One line per run:
#   <round> <system> <test> <req/s> <p50 us> <p99 us> <context switches> <cpu ms>
# Usage: tools/bench_ab.sh ROUNDS DIR NAME=CRAFTD [NAME=CRAFTD ...]
#   e.g. tools/bench_ab.sh 4 /tmp/ab old=/tmp/craftd-main new=build-bench/bin/craftd
# TESTS (default "set_c50 set_c1 get_c50"; also set_p16: 50 clients, pipeline 16) picks the runs; REDIS=0 leaves the redis servers out;
# CRAFTD_FLAGS are added to every craftd's (e.g. "--snapshot-every 0").
# Ports 7501-7503 (clients), 7601-7603 (peers), 7510 (redis); every process it starts is
# stopped by its pid; each run is bounded by redis-benchmark's request count and a timeout.
set -u

rounds=$1
dir=$2
shift 2
systems=("$@")
tests=${TESTS:-set_c50 set_c1 get_c50}
with_redis=${REDIS:-1}
peers="1@127.0.0.1:7601,2@127.0.0.1:7602,3@127.0.0.1:7603"
pids=()

cleanup() {
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    pids=()
}
trap cleanup EXIT

# redis-benchmark --csv: "test","rps","avg","min","p50","p95","p99","max" (ms) -> rps p50 p99 (us)
bench() {
    local port=$1
    shift
    timeout 120 redis-benchmark -h 127.0.0.1 -p "$port" -d 64 -r 100000 --csv --precision 3 "$@" |
        awk -F'"' 'NR == 2 { printf "%.0f %.0f %.0f", $4, $10 * 1000, $14 * 1000 }'
}

# Runs bench while perf stat watches the pids given (comma-separated): "rps p50 p99 cs cpu_ms".
bench_perf() {
    local watch=$1 port=$2
    shift 2
    local out="$dir/perf.txt"
    perf stat -x, -e context-switches,task-clock -p "$watch" -o "$out" &
    local perf_pid=$!
    local figures
    figures=$(bench "$port" "$@")
    kill -INT "$perf_pid" 2>/dev/null
    wait "$perf_pid" 2>/dev/null
    local cs cpu
    cs=$(awk -F, '$3 == "context-switches" { print $1 }' "$out")
    cpu=$(awk -F, '$3 == "task-clock" { printf "%.0f", $1 }' "$out")
    echo "$figures ${cs:-0} ${cpu:-0}"
}

leader_port() {
    local deadline=$((SECONDS + 15))
    while [ $SECONDS -lt $deadline ]; do
        for i in 1 2 3; do
            if redis-cli -p "750$i" INFO raft 2>/dev/null | grep -q "role:leader"; then
                echo "750$i"
                return 0
            fi
        done
        sleep 0.1 # a poll with a deadline
    done
    return 1
}

run_craftd() {
    local round=$1 name=$2 bin=$3
    local d="$dir/$name-$round"
    rm -rf "$d"
    for i in 1 2 3; do
        mkdir -p "$d/node$i"
        "$bin" --id "$i" --bind 127.0.0.1 --port "750$i" --peer-port "760$i" --dir "$d/node$i" \
            --peers "$peers" --log-level warn ${CRAFTD_FLAGS:-} 2>>"$d/node$i.log" &
        pids+=($!)
    done
    local watch
    watch=$(IFS=,; echo "${pids[*]}")
    local port
    if ! port=$(leader_port); then
        echo "bench_ab: no leader ($name round $round)" >&2
        cleanup
        return 1
    fi
    for t in $tests; do
        case $t in
        set_c50) echo "$round $name set_c50 $(bench_perf "$watch" "$port" -t set -n 100000 -c 50)" ;;
        set_c1) echo "$round $name set_c1 $(bench "$port" -t set -n 10000 -c 1) - -" ;;
        set_p16) echo "$round $name set_p16 $(bench_perf "$watch" "$port" -t set -n 400000 -c 50 -P 16)" ;;
        get_c50) echo "$round $name get_c50 $(bench_perf "$watch" "$port" -t get -n 100000 -c 50)" ;;
        esac
    done
    cleanup
    rm -rf "$d"
}

run_redis() {
    local round=$1 mode=$2
    local d="$dir/redis-$mode-$round"
    rm -rf "$d"
    mkdir -p "$d"
    local args=(--port 7510 --bind 127.0.0.1 --dir "$d" --save "")
    if [ "$mode" = always ]; then
        args+=(--appendonly yes --appendfsync always)
    else
        args+=(--appendonly no)
    fi
    redis-server "${args[@]}" >"$d/log" 2>&1 &
    pids+=($!)
    local deadline=$((SECONDS + 10))
    until redis-cli -p 7510 PING >/dev/null 2>&1 || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
    echo "$round redis_$mode set_c50 $(bench 7510 -t set -n 100000 -c 50) - -"
    echo "$round redis_$mode set_c1 $(bench 7510 -t set -n 10000 -c 1) - -"
    echo "$round redis_$mode get_c50 $(bench 7510 -t get -n 100000 -c 50) - -"
    cleanup
    rm -rf "$d"
}

mkdir -p "$dir"
echo "# round system test rps p50_us p99_us context_switches cpu_ms"
n=${#systems[@]}
for ((r = 1; r <= rounds; r++)); do
    for ((k = 0; k < n; k++)); do
        sys=${systems[$(((k + r - 1) % n))]}
        run_craftd "$r" "${sys%%=*}" "${sys#*=}"
    done
    if [ "$with_redis" = 1 ]; then
        run_redis "$r" always
        run_redis "$r" none
    fi
done
