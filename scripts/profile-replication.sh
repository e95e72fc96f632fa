#!/usr/bin/env bash
# Per-write cost of replication, counted rather than timed (repeatable on a busy machine): a master
# (partition 0) with or without one slave, the master's flared (TARGET=master, default), the same
# master without a slave (TARGET=alone) or the slave's flared (TARGET=slave) runs under valgrind's
# callgrind (TOOL=callgrind, default) or strace -f -c (TOOL=strace). One connection to the master
# sends COUNT (4000) sets of 1 KiB values one at a time, then COUNT sets pipelined 16 deep (many
# writes per loop turn, as under load from many connections). With callgrind, prints instructions
# per write for each, counted between the workload's start and end only (on the slave: until it
# has applied every copy); with strace, the system calls of the whole run (warm-up included).
# Environment: TOOL, TARGET, MODE (async or sync: the master's replication-type), COUNT,
# BENCH_DIR (/tmp), KEEP (keep the callgrind files in BENCH_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
TOOL=${TOOL:-callgrind}; TARGET=${TARGET:-master}; MODE=${MODE:-async}; COUNT=${COUNT:-4000}
swift build -c release >/dev/null
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d "${BENCH_DIR:-/tmp}/flare-profile-replication.XXXXXX")
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT INT TERM
. scripts/bench-lib.sh

ip=$(free_port); p1=$(free_port); p2=$(free_port)
mkdir -p "$work/i" "$work/n1" "$work/n2"
"$bin/flarei" --data-dir "$work/i" --server-name 127.0.0.1 --server-port "$ip" --monitor-interval 1 >"$work/i.log" 2>&1 & pids+=($!)
sleep 0.5
profiler "$TOOL" "$work" "$bin"
case $TARGET in
    master|alone) n1=("${wrap[@]}" "$profiled_bin"); n2=("$bin/flared") ;;
    slave) n1=("$bin/flared"); n2=("${wrap[@]}" "$profiled_bin") ;;
    *) echo "TARGET must be master, alone or slave" >&2; exit 2 ;;
esac
"${n1[@]}" --data-dir "$work/n1" --server-name 127.0.0.1 --server-address 127.0.0.1 --server-port "$p1" \
    --index-servers "127.0.0.1:$ip" --thread-pool-size 1 --replication-type "$MODE" >"$work/n1.log" 2>&1 & pids+=($!)
[ "$TARGET" = slave ] || traced=$!
"${n2[@]}" --data-dir "$work/n2" --server-name 127.0.0.2 --server-address 127.0.0.2 --server-port "$p2" \
    --index-servers "127.0.0.1:$ip" --thread-pool-size 1 >"$work/n2.log" 2>&1 & pids+=($!)
[ "$TARGET" = slave ] && traced=$!
# A node under valgrind takes a while to register: ask until the index knows it.
for _ in $(seq 1 120); do
    [ "$(send 127.0.0.1 "$ip" "node role 127.0.0.1 $p1 master 1 0\r\n")" = $'OK\r' ] && break
    sleep 0.5
done
wait_node "$ip" "127.0.0.1:$p1" active master 60
wait_node "$ip" "127.0.0.2:$p2" active proxy 60
if [ "$TARGET" != alone ]; then
    for _ in $(seq 1 120); do
        [ "$(send 127.0.0.1 "$ip" "node role 127.0.0.2 $p2 slave 1 0\r\n")" = $'OK\r' ] && break
        sleep 0.5
    done
    wait_node "$ip" "127.0.0.2:$p2" active slave 120
fi
# The profiled flared itself under the wrapper (valgrind keeps the pid; strace forks it).
target=$traced
[ "$TOOL" = strace ] && target=$(pgrep -P "$traced" || echo "$traced")

python3 - "$p1" "$p2" "$COUNT" "$work" "$TOOL" "$target" "$TARGET" <<'PY'
import socket, subprocess, sys, time
p1, p2, count, work, tool, target, which = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7]
s = socket.create_connection(("127.0.0.1", p1)); s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
buf = b""
def read_until(end, times=1):
    global buf
    while buf.count(end) < times:
        chunk = s.recv(1 << 20)
        if not chunk: raise SystemExit("master closed the connection")
        buf += chunk
    idx = -1
    for _ in range(times): idx = buf.index(end, idx + 1)
    out, buf = buf[:idx + len(end)], buf[idx + len(end):]
    return out
value = b"v" * 1024
def stat(port, name):
    c = socket.create_connection(("127.0.0.2" if port == p2 else "127.0.0.1", port)); c.sendall(b"stats\r\n"); data = b""
    while not data.endswith(b"END\r\n"): data += c.recv(65536)
    c.close()
    for line in data.decode().split("\r\n"):
        if line.startswith("STAT %s " % name): return int(line.split()[2])
    return 0
def settle():
    # The slave has applied every copy once its set count stops at the master's.
    if which == "alone": return
    want = stat(p1, "cmd_set")
    for _ in range(600):
        if stat(p2, "cmd_set") >= want: return
        time.sleep(0.1)
    raise SystemExit("the slave did not apply every copy")
def set_one(n, base):
    for i in range(n):
        s.sendall(b"set s:%d 0 0 1024\r\n%s\r\n" % (base + i, value)); r = read_until(b"\r\n"); assert r == b"STORED\r\n", r
def set_pipelined(n, base):
    for b in range(n // 16):
        s.sendall(b"".join(b"set s:%d 0 0 1024\r\n%s\r\n" % (base + b * 16 + j, value) for j in range(16)))
        r = read_until(b"\r\n", 16); assert r == b"STORED\r\n" * 16, r
def run(name, fn, n, base):
    fn(min(n, 200), base + 1_000_000)  # warm: stream connected, buffers grown
    settle()
    if tool == "callgrind":
        subprocess.run(["callgrind_control", "-i", "on", target], check=True, capture_output=True)
        subprocess.run(["callgrind_control", "-z", target], check=True, capture_output=True)
    fn(n, base)
    settle()
    if tool == "callgrind":
        subprocess.run(["callgrind_control", "-d", name, target], check=True, capture_output=True)
        subprocess.run(["callgrind_control", "-i", "off", target], check=True, capture_output=True)
    print(f"{name}: {n} writes", flush=True)
for name, fn, base in [("set", set_one, 0), ("set16", set_pipelined, 2_000_000)]:
    run(name, fn, count, base)
    with open(f"{work}/count.{name}", "w") as f: f.write(str(count))
PY

if [ "$TOOL" = callgrind ]; then
    for f in "$work"/callgrind.*.[0-9]*; do
        w=$(sed -n 's/^desc: Trigger: dump //p' "$f")
        total=$(sed -n 's/^summary: //p' "$f")
        echo "$w: $((total / $(cat "$work/count.$w"))) instructions per write in the $TARGET flared, $MODE ($f)"
    done
else
    kill "$target"; sleep 1
    cat "$work/strace.out"
fi
