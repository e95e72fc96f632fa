#!/usr/bin/env bash
# Cluster benchmarks on loopback, with the release build:
#   1. proxied vs direct: four workloads (50 connections; the same pipelined 16 deep; one
#      connection's round trip; 100-key multi-gets) against Debian's memcached, the master of
#      partition 0 and a proxy node, alternately; throughput, latency and the ratio proxied/direct;
#   2. slave construction: a master holding ITEMS items of VALUE_SIZE bytes (default 100,000 × 10 KB,
#      the tutorial's 1 GB), then a new slave; the time until the index lists it slave/active.
# Environment: ROUNDS (3), DURATION (5 s), ITEMS (100000), VALUE_SIZE (10240), BENCH_DIR (/tmp),
# SKIP_PROXY, SKIP_RECONSTRUCTION, ORIGINAL_FLARE: the install prefix of a build of the original
# flare (its bin/flarei and bin/flared; not part of this project): its master and proxy node are
# then measured in the same rounds, with the sample configuration's thread-pool-size 16 and
# proxy-concurrency 2.
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
    # Debian's memcached with the same two worker threads: the common reference.
    mp=$(free_port)
    memcached -p "$mp" -l 127.0.0.1 -t 2 -U 0 -u "$(id -un)" >"$work/memcached.log" 2>&1 & pids+=($!)
    sleep 0.3
    targets=("memcached 127.0.0.1 $mp" "direct 127.0.0.1 $p1" "proxied 127.0.0.2 $p2")
    if [ -n "${ORIGINAL_FLARE:-}" ]; then
        oi=$(free_port); o1=$(free_port); o2=$(free_port)
        mkdir -p "$work/oi" "$work/o1" "$work/o2"
        "$ORIGINAL_FLARE/bin/flarei" --data-dir "$work/oi" --server-name 127.0.0.1 --server-port "$oi" \
            --monitor-interval 1 --monitor-threshold 3 --thread-pool-size 8 >"$work/oi.log" 2>&1 & pids+=($!)
        sleep 0.5
        for n in 1 2; do
            port_var="o$n"
            "$ORIGINAL_FLARE/bin/flared" --data-dir "$work/o$n" --server-name "127.0.0.$n" --server-port "${!port_var}" \
                --index-servers "127.0.0.1:$oi" --storage-type tch --thread-pool-size 16 --proxy-concurrency 2 \
                --mutex-slot 32 --max-connection 256 >"$work/o$n.log" 2>&1 & pids+=($!)
        done
        sleep 1.5
        send 127.0.0.1 "$oi" "node role 127.0.0.1 $o1 master 1 0\r\n" >/dev/null
        wait_node "$oi" "127.0.0.1:$o1" active master 30
        targets+=("original-direct 127.0.0.1 $o1" "original-proxied 127.0.0.2 $o2")
    fi
    echo "direct vs proxied: each workload $ROUNDS × $DURATION s per target, targets alternating; medians"
    # name | flare-bench arguments
    workloads=(
        "50 connections, 90:10 get:set, 32 B|--connections 50 --threads 2"
        "same, pipelined 16 deep|--connections 50 --threads 2 --pipeline 16"
        "one connection, round trip|--connections 1 --threads 1"
        "100-key multi-get, 50 connections|--connections 50 --threads 2 --ratio 100:0 --multiget 100"
    )
    results="$work/results"
    : >"$results"
    for workload in "${workloads[@]}"; do
        name=${workload%%|*}; args=${workload#*|}
        for r in $(seq 1 "$ROUNDS"); do
            for target in "${targets[@]}"; do
                set -- $target
                # shellcheck disable=SC2086
                json=$("$bin/flare-bench" --host "$2" --port "$3" --duration "$DURATION" --warmup 1 $args --json 2>/dev/null)
                echo "$name|$1|$json" >>"$results"
            done
        done
    done
    python3 - "$results" <<'PY'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, target, payload = line.rstrip("\n").split("|", 2)
    rows.setdefault(name, {}).setdefault(target, []).append(json.loads(payload))
original = any("original-proxied" in targets for targets in rows.values())
extra = " original direct / proxied ops/s | original p50 direct / proxied µs |" if original else ""
print("| workload | memcached ops/s | direct ops/s | proxied ops/s | proxied / direct | p50 direct / proxied µs | p99 direct / proxied µs |" + extra)
print("|---|---:|---:|---:|---:|---:|---:|" + ("---:|---:|" if original else ""))
for name, targets in rows.items():
    med = {t: statistics.median(r["ops_per_sec"] for r in runs) for t, runs in targets.items()}
    lat = {t: (statistics.median(r["latency_us"]["p50"] for r in runs), statistics.median(r["latency_us"]["p99"] for r in runs))
           for t, runs in targets.items()}
    errors = {t: sum(r["errors"]["total"] for r in runs) for t, runs in targets.items()}
    note = "".join(f" ({n} errors from {t}!)" for t, n in errors.items() if n)
    print(f"| {name}{note} | {med['memcached']:,.0f} | {med['direct']:,.0f} | {med['proxied']:,.0f} | "
          f"{med['proxied'] / med['direct']:.2f} | {lat['direct'][0]:.0f} / {lat['proxied'][0]:.0f} | "
          f"{lat['direct'][1]:.0f} / {lat['proxied'][1]:.0f} |"
          + (f" {med['original-direct']:,.0f} / {med['original-proxied']:,.0f} | "
             f"{lat['original-direct'][0]:.0f} / {lat['original-proxied'][0]:.0f} |" if original else ""))
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
