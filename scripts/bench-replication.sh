#!/usr/bin/env bash
# The cost of replication, on loopback, with the release build: the same master measured alone and
# then with one slave, with async and with sync replication, for two workloads:
#   - 50 connections, 90:10 get:set, 32-byte values;
#   - 50 connections, 100 % sets of 1 KiB.
# Each configuration runs ROUNDS times (alone and with a slave alternately is not possible — a
# slave once built stays — so the alone rounds come first); medians and ratios are printed as a
# Markdown table. Environment: ROUNDS (3), DURATION (5 s), BENCH_DIR (/tmp; /dev/shm keeps the
# data in memory, to measure the daemons rather than the disk).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}; DURATION=${DURATION:-5}
swift build -c release >/dev/null
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d "${BENCH_DIR:-/tmp}/flare-bench-replication.XXXXXX")
pids=()
stop_all() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; pids=(); }
trap 'stop_all; rm -rf "$work"' EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
send() { # host port request -> reply
    python3 - "$1" "$2" "$3" <<'PY'
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2]))); s.sendall(sys.argv[3].encode().decode('unicode_escape').encode())
s.settimeout(2); data = b""
try:
    while not data.endswith(b"\r\n") or (data.startswith(b"STAT") and not data.endswith(b"END\r\n")):
        chunk = s.recv(65536)
        if not chunk: break
        data += chunk
except socket.timeout: pass
print(data.decode(errors="replace"), end="")
PY
}
wait_state() { # index-port node-key state role
    local deadline=$((SECONDS + 120))
    until send 127.0.0.1 "$1" 'stats nodes\r\n' | grep -q "STAT $2:state $3" && send 127.0.0.1 "$1" 'stats nodes\r\n' | grep -q "STAT $2:role $4"; do
        [ $SECONDS -lt $deadline ] || { echo "timed out waiting for $2 to be $4/$3" >&2; exit 1; }
        sleep 0.05
    done
}
bench() { # port extra-args... -> ops/s
    local port=$1; shift
    "$bin/flare-bench" --host 127.0.0.1 --port "$port" --duration "$DURATION" --json "$@" 2>/dev/null |
        python3 -c 'import json,sys; print(int(json.load(sys.stdin)["ops_per_sec"]))'
}

results=()
for mode in async sync; do
    ip=$(free_port); p1=$(free_port); p2=$(free_port)
    rm -rf "$work"/*; mkdir -p "$work/i" "$work/n1" "$work/n2"
    "$bin/flarei" --data-dir "$work/i" --server-name 127.0.0.1 --server-port "$ip" --monitor-interval 1 >"$work/i.log" 2>&1 & pids+=($!)
    sleep 0.5
    "$bin/flared" --data-dir "$work/n1" --server-name 127.0.0.1 --server-address 127.0.0.1 --server-port "$p1" \
        --index-servers "127.0.0.1:$ip" --thread-pool-size 2 --replication-type "$mode" >"$work/n1.log" 2>&1 & pids+=($!)
    "$bin/flared" --data-dir "$work/n2" --server-name 127.0.0.2 --server-address 127.0.0.2 --server-port "$p2" \
        --index-servers "127.0.0.1:$ip" --thread-pool-size 2 >"$work/n2.log" 2>&1 & pids+=($!)
    sleep 1.5
    send 127.0.0.1 "$ip" "node role 127.0.0.1 $p1 master 1 0\r\n" >/dev/null
    wait_state "$ip" "127.0.0.1:$p1" active master
    declare -A alone=() paired=()
    for workload in mixed sets; do
        args=(); [ "$workload" = sets ] && args=(--ratio 0:100 --value-size 1024 --key-prefix s:)
        for r in $(seq 1 "$ROUNDS"); do alone[$workload]+="$(bench "$p1" "${args[@]}") "; done
    done
    send 127.0.0.1 "$ip" "node role 127.0.0.2 $p2 slave 1 0\r\n" >/dev/null
    wait_state "$ip" "127.0.0.2:$p2" active slave
    for workload in mixed sets; do
        args=(); [ "$workload" = sets ] && args=(--ratio 0:100 --value-size 1024 --key-prefix s:)
        for r in $(seq 1 "$ROUNDS"); do paired[$workload]+="$(bench "$p1" "${args[@]}") "; done
        results+=("$mode|$workload|${alone[$workload]}|${paired[$workload]}")
    done
    stop_all
done

python3 - "${results[@]}" <<'PY'
import statistics, sys
names = {"mixed": "50 conns, 90:10, 32 B", "sets": "50 conns, 100 % sets, 1 KiB"}
print("| replication | workload | master alone ops/s | with one slave ops/s | ratio |")
print("|---|---|---:|---:|---:|")
for row in sys.argv[1:]:
    mode, workload, alone, paired = row.split("|")
    a = statistics.median(int(x) for x in alone.split()); p = statistics.median(int(x) for x in paired.split())
    print(f"| {mode} | {names[workload]} | {a:,.0f} | {p:,.0f} | {p/a:.2f} |")
PY
