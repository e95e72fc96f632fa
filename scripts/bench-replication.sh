#!/usr/bin/env bash
# The cost of replication, on loopback, with the release build: a master alone against a master
# with one slave, with async and with sync replication, for two workloads:
#   - 50 connections, 90:10 get:set, 32-byte values;
#   - 50 connections, 100 % sets of 1 KiB.
# Two clusters run side by side (one index each): A, a master alone; B, a master and its slave,
# both idle while the other is measured. Rounds interleave them — A B, then B A, and so on — so
# that load from elsewhere on the machine, and the data growing, weigh on both alike. Prints a
# Markdown table of medians, each round's ratio B/A (measured back to back), and their spread.
# Environment: ROUNDS (8), DURATION (4 s), MODES ("async sync"), BENCH_DIR (/tmp; /dev/shm keeps
# the data in memory, to measure the daemons rather than the disk).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-8}; DURATION=${DURATION:-4}; MODES=${MODES:-async sync}
swift build -c release >/dev/null
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d "${BENCH_DIR:-/tmp}/flare-bench-replication.XXXXXX")
pids=()
stop_all() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; pids=(); }
trap 'stop_all; rm -rf "$work"' EXIT INT TERM

. scripts/bench-lib.sh
bench() { # port extra-args... -> ops/s
    local port=$1; shift
    "$bin/flare-bench" --host 127.0.0.1 --port "$port" --duration "$DURATION" --json "$@" 2>/dev/null |
        python3 -c 'import json,sys; print(int(json.load(sys.stdin)["ops_per_sec"]))'
}
index() { # dir port
    "$bin/flarei" --data-dir "$work/$1" --server-name 127.0.0.1 --server-port "$2" --monitor-interval 1 >"$work/$1.log" 2>&1 & pids+=($!)
}
node() { # dir address port index-port mode
    "$bin/flared" --data-dir "$work/$1" --server-name "$2" --server-address "$2" --server-port "$3" \
        --index-servers "127.0.0.1:$4" --thread-pool-size 2 --replication-type "$5" >"$work/$1.log" 2>&1 & pids+=($!)
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
results=()
for mode in $MODES; do
    ia=$(free_port); pa=$(free_port); ib=$(free_port); pb=$(free_port); ps=$(free_port)
    rm -rf "${work:?}"/*; mkdir -p "$work/ia" "$work/a" "$work/ib" "$work/b" "$work/s"
    index ia "$ia"; index ib "$ib"
    sleep 0.5
    node a 127.0.0.1 "$pa" "$ia" "$mode"; node b 127.0.0.1 "$pb" "$ib" "$mode"; node s 127.0.0.2 "$ps" "$ib" async
    sleep 1.5
    send 127.0.0.1 "$ia" "node role 127.0.0.1 $pa master 1 0\r\n" >/dev/null
    send 127.0.0.1 "$ib" "node role 127.0.0.1 $pb master 1 0\r\n" >/dev/null
    wait_node "$ia" "127.0.0.1:$pa" active master
    wait_node "$ib" "127.0.0.1:$pb" active master
    send 127.0.0.1 "$ib" "node role 127.0.0.2 $ps slave 1 0\r\n" >/dev/null
    wait_node "$ib" "127.0.0.2:$ps" active slave
    for workload in mixed sets; do
        args=(); [ "$workload" = sets ] && args=(--ratio 0:100 --value-size 1024 --key-prefix s:)
        alone=""; paired=""
        for r in $(seq 1 "$ROUNDS"); do
            if [ $((r % 2)) = 1 ]; then
                a=$(bench "$pa" "${args[@]}"); b=$(bench "$pb" "${args[@]}")
            else
                b=$(bench "$pb" "${args[@]}"); a=$(bench "$pa" "${args[@]}")
            fi
            alone+="$a "; paired+="$b "
            echo "$mode $workload round $r: alone $a, with a slave $b, ratio $(python3 -c "print(f'{$b/$a:.2f}')") (load $(cut -d' ' -f1 /proc/loadavg))" >&2
        done
        results+=("$mode|$workload|$alone|$paired")
    done
    stop_all
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

python3 - "${results[@]}" <<'PY'
import statistics, sys
names = {"mixed": "50 conns, 90:10, 32 B", "sets": "50 conns, 100 % sets, 1 KiB"}
print("| replication | workload | master alone ops/s | with one slave ops/s | ratio of medians | per-round ratios: median (min–max) |")
print("|---|---|---:|---:|---:|---:|")
for row in sys.argv[1:]:
    mode, workload, alone, paired = row.split("|")
    a = [int(x) for x in alone.split()]; p = [int(x) for x in paired.split()]
    ratios = [y / x for x, y in zip(a, p)]
    ma, mp = statistics.median(a), statistics.median(p)
    print(f"| {mode} | {names[workload]} | {ma:,.0f} | {mp:,.0f} | {mp/ma:.2f} | "
          f"{statistics.median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f}) |")
PY
