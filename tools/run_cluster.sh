#!/usr/bin/env bash
# Starts a local 3-node craftd cluster on 127.0.0.1 (clients on 7001-7003, peers on 7101-7103,
# data in ./data/node1..3) and stops exactly those three on Ctrl-C (SIGINT) or SIGTERM.
# A second run finds its data again. Usage: tools/run_cluster.sh [craftd binary] [extra flags...]
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
craftd=${1:-$root/build/bin/craftd}
shift || true
data=${CRAFT_DATA:-./data}
peers="1@127.0.0.1:7101,2@127.0.0.1:7102,3@127.0.0.1:7103"
pids=()

stop() {
    trap - INT TERM
    echo
    echo "stopping craftd (pids ${pids[*]})"
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    echo "stopped; data kept in $data/node1..3"
    exit 0
}
trap stop INT TERM

if [ ! -x "$craftd" ]; then
    echo "run_cluster: $craftd not built (make build)" >&2
    exit 1
fi
for i in 1 2 3; do
    mkdir -p "$data/node$i"
    "$craftd" --id "$i" --bind 127.0.0.1 --port "700$i" --peer-port "710$i" \
        --dir "$data/node$i" --peers "$peers" "$@" 2>>"$data/node$i.log" &
    pids+=($!)
done
echo "craftd cluster: nodes 1-3 on 127.0.0.1:7001-7003 (peers 7101-7103), data in $data/node1..3"
echo "logs: $data/node1.log .. node3.log"
echo "connect:  redis-cli -p 7001     (then e.g. SET k v, GET k, INFO raft)"
echo "Ctrl-C stops all three"
# Any one exiting (a port in use, a bad data directory; or Ctrl-C, which the craftd processes
# get too) stops the others.
wait -n "${pids[@]}"
rc=$?
if [ "$rc" -ne 0 ]; then
    echo "run_cluster: a craftd exited with status $rc; see $data/node*.log" >&2
fi
stop
