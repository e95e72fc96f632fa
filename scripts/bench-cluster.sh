#!/usr/bin/env bash
# Cluster benchmarks on loopback, with the release build:
#   1. proxied vs direct: flare-bench against the master of partition 0 and against a proxy node,
#      alternately, and the ratio proxy/direct;
#   2. slave construction: a master holding ITEMS items of VALUE_SIZE bytes (default 100,000 × 10 KB,
#      the tutorial's 1 GB), then a new slave; the time until the index lists it slave/active.
# Environment: ROUNDS (3), DURATION (5 s), ITEMS (100000), VALUE_SIZE (10240), BENCH_DIR (/tmp),
# SKIP_PROXY, SKIP_RECONSTRUCTION.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}; DURATION=${DURATION:-5}; ITEMS=${ITEMS:-100000}; VALUE_SIZE=${VALUE_SIZE:-10240}
swift build -c release >/dev/null
bin=$(swift build -c release --show-bin-path)
# BENCH_DIR=/dev/shm keeps the data in memory, to measure the daemons rather than the disk.
work=$(mktemp -d "${BENCH_DIR:-/tmp}/flare-bench-cluster.XXXXXX")
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT INT TERM

. scripts/bench-lib.sh

ip=$(free_port); p1=$(free_port); p2=$(free_port); p3=$(free_port)
mkdir -p "$work/i" "$work/n1" "$work/n2" "$work/n3"
"$bin/flarei" --data-dir "$work/i" --server-name 127.0.0.1 --server-port "$ip" --monitor-interval 1 >"$work/i.log" 2>&1 & pids+=($!)
sleep 0.5
for n in 1 2 3; do
    port_var="p$n"
    "$bin/flared" --data-dir "$work/n$n" --server-name "127.0.0.$n" --server-address "127.0.0.$n" --server-port "${!port_var}" \
        --index-servers "127.0.0.1:$ip" --thread-pool-size 2 >"$work/n$n.log" 2>&1 & pids+=($!)
done
sleep 1.5
[ "$(send 127.0.0.1 "$ip" "node role 127.0.0.1 $p1 master 1 0\r\n")" = $'OK\r' ] || true
wait_node "$ip" "127.0.0.1:$p1" active master

if [ -z "${SKIP_PROXY:-}" ]; then
    echo "proxied vs direct: 50 connections, 90:10 get:set, 32-byte values, $ROUNDS × $DURATION s each"
    direct=(); proxied=()
    for r in $(seq 1 "$ROUNDS"); do
        direct+=("$("$bin/flare-bench" --host 127.0.0.1 --port "$p1" --duration "$DURATION" --json 2>/dev/null | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["ops_per_sec"]))')")
        proxied+=("$("$bin/flare-bench" --host 127.0.0.2 --port "$p2" --duration "$DURATION" --json 2>/dev/null | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["ops_per_sec"]))')")
    done
    python3 - "${direct[*]}" "${proxied[*]}" <<'PY'
import statistics, sys
d = [int(x) for x in sys.argv[1].split()]; p = [int(x) for x in sys.argv[2].split()]
md, mp = statistics.median(d), statistics.median(p)
print(f"| direct (master) ops/s | via a proxy node ops/s | proxy / direct |\n|---:|---:|---:|\n| {md:,.0f} | {mp:,.0f} | {mp/md:.2f} |")
PY
fi

if [ -z "${SKIP_RECONSTRUCTION:-}" ]; then
    echo "loading $ITEMS items of $VALUE_SIZE bytes into the master..."
    "$bin/flare-bench" --host 127.0.0.1 --port "$p1" --keys "$ITEMS" --value-size "$VALUE_SIZE" --key-prefix big: \
        --ratio 100:0 --duration 1 --warmup 0 >/dev/null 2>&1
    items=$(send 127.0.0.1 "$p1" 'stats\r\n' | awk '/curr_items/ {print $3}' | tr -d '\r')
    echo "master holds $items items; making 127.0.0.3 a slave of partition 0"
    start=$(date +%s.%N)
    send 127.0.0.1 "$ip" "node role 127.0.0.3 $p3 slave 0 0\r\n" >/dev/null
    wait_node "$ip" "127.0.0.3:$p3" active slave
    end=$(date +%s.%N)
    copied=$(send 127.0.0.3 "$p3" 'stats\r\n' | awk '/curr_items/ {print $3}' | tr -d '\r')
    python3 - "$start" "$end" "$copied" "$VALUE_SIZE" <<'PY'
import sys
s, e, n, size = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
t = e - s
print(f"| items copied | value size | seconds to slave/active | MB/s |\n|---:|---:|---:|---:|\n| {n:,} | {size:,} B | {t:.2f} | {n*size/t/1e6:,.0f} |")
PY
fi
