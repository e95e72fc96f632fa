#!/usr/bin/env bash
# Per-request cost of the proxied path, counted rather than timed (repeatable on a busy machine):
# a master (partition 0) and a proxy node; the proxy's flared (TARGET=proxied, default) or the
# master's (TARGET=direct, for comparison) runs under valgrind's callgrind (TOOL=callgrind,
# default) or strace -f -c (TOOL=strace), and one connection to it sends a fixed number of
# requests of each workload: COUNT (2000) single-key gets, one at a time; the same sets; COUNT
# gets pipelined 16 deep; COUNT/10 100-key multi-gets. With callgrind, prints instructions per
# request for each, counted between the workload's start and end only; with strace, the system
# calls of the whole run (warm-up included).
# Environment: TOOL, TARGET, COUNT, BENCH_DIR (/tmp), KEEP (keep the callgrind files in BENCH_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
TOOL=${TOOL:-callgrind}; TARGET=${TARGET:-proxied}; COUNT=${COUNT:-2000}
swift build -c release >/dev/null
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d "${BENCH_DIR:-/tmp}/flare-profile-proxy.XXXXXX")
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
    proxied) n1=("$bin/flared"); n2=("${wrap[@]}" "$profiled_bin"); port=$p2; host=127.0.0.2 ;;
    direct) n1=("${wrap[@]}" "$profiled_bin"); n2=("$bin/flared"); port=$p1; host=127.0.0.1 ;;
    *) echo "TARGET must be proxied or direct" >&2; exit 2 ;;
esac
"${n1[@]}" --data-dir "$work/n1" --server-name 127.0.0.1 --server-address 127.0.0.1 --server-port "$p1" \
    --index-servers "127.0.0.1:$ip" --thread-pool-size 1 >"$work/n1.log" 2>&1 & pids+=($!)
[ "$TARGET" = direct ] && traced=$!
"${n2[@]}" --data-dir "$work/n2" --server-name 127.0.0.2 --server-address 127.0.0.2 --server-port "$p2" \
    --index-servers "127.0.0.1:$ip" --thread-pool-size 1 >"$work/n2.log" 2>&1 & pids+=($!)
[ "$TARGET" = proxied ] && traced=$!
# A node under valgrind takes a while to register: ask until the index knows it.
for _ in $(seq 1 120); do
    [ "$(send 127.0.0.1 "$ip" "node role 127.0.0.1 $p1 master 1 0\r\n")" = $'OK\r' ] && break
    sleep 0.5
done
wait_node "$ip" "127.0.0.1:$p1" active master 60
wait_node "$ip" "127.0.0.2:$p2" active proxy 60
# The profiled flared itself under the wrapper (valgrind keeps the pid; strace forks it).
target=$traced
[ "$TOOL" = strace ] && target=$(pgrep -P "$traced" || echo "$traced")

# One connection runs the workloads in turn, each bracketed by callgrind_control calls.
python3 - "$host" "$port" "$COUNT" "$work" "$TOOL" "$target" <<'PY'
import socket, subprocess, sys
host, port, count, work, tool, target = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
s = socket.create_connection((host, port)); s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
buf = b""
def read_until(end, times=1):
    global buf
    while buf.count(end) < times:
        chunk = s.recv(1 << 20)
        if not chunk: raise SystemExit("proxy closed the connection")
        buf += chunk
    # consume through the times-th occurrence
    idx = -1
    for _ in range(times): idx = buf.index(end, idx + 1)
    out, buf = buf[:idx + len(end)], buf[idx + len(end):]
    return out
value = b"x" * 32
for i in range(1000):   # the keys every workload reads
    s.sendall(b"set key:%d 0 0 32\r\n%s\r\n" % (i, value)); read_until(b"\r\n")
def get_one(n):
    for i in range(n):
        s.sendall(b"get key:%d\r\n" % (i % 1000)); r = read_until(b"END\r\n"); assert r.startswith(b"VALUE"), r
def set_one(n):
    for i in range(n):
        s.sendall(b"set key:%d 0 0 32\r\n%s\r\n" % (i % 1000, value)); assert read_until(b"\r\n") == b"STORED\r\n"
def get_pipelined(n):
    for b in range(n // 16):
        s.sendall(b"".join(b"get key:%d\r\n" % ((b * 16 + j) % 1000) for j in range(16))); read_until(b"END\r\n", 16)
def multi_get(n):
    for b in range(n):
        s.sendall(b"get " + b" ".join(b"key:%d" % ((b + j) % 1000) for j in range(100)) + b"\r\n")
        r = read_until(b"END\r\n"); assert r.count(b"VALUE") == 100, r[:200]
def run(name, fn, n):
    fn(min(n, 200))  # warm: links connected, buffers grown
    if tool == "callgrind":
        subprocess.run(["callgrind_control", "-i", "on", target], check=True, capture_output=True)
        subprocess.run(["callgrind_control", "-z", target], check=True, capture_output=True)
    fn(n)
    if tool == "callgrind":
        subprocess.run(["callgrind_control", "-d", name, target], check=True, capture_output=True)
        subprocess.run(["callgrind_control", "-i", "off", target], check=True, capture_output=True)
    print(f"{name}: {n} requests", flush=True)
workloads = [("get", get_one, count), ("set", set_one, count), ("pipelined", get_pipelined, count), ("multiget100", multi_get, count // 10)]
for name, fn, n in workloads:
    run(name, fn, n)
    with open(f"{work}/count.{name}", "w") as f: f.write(str(n))
PY

if [ "$TOOL" = callgrind ]; then
    for f in "$work"/callgrind.*.[0-9]*; do
        w=$(sed -n 's/^desc: Trigger: dump //p' "$f")
        total=$(sed -n 's/^summary: //p' "$f")
        echo "$w: $((total / $(cat "$work/count.$w"))) instructions per request in the $TARGET flared ($f)"
    done
else
    kill "$target"; sleep 1
    cat "$work/strace.out"
fi
