#!/usr/bin/env bash
# Compare flared with Debian's memcached using flare-bench.
#
# Runs flare-bench alternately against memcached and flared (A, B, A, B, ...) for each
# scenario, prints the median ops/s of each and the ratio flared/memcached as a markdown
# table, and keeps every run's JSON under bench-results/<timestamp>/.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/bench-vs-memcached.sh [options]

Options (environment variable in brackets):
  --rounds N          rounds per scenario, each runs memcached then flared   [ROUNDS, 3]
  --duration S        measured seconds per run                               [DURATION, 10]
  --warmup S          warm-up seconds per run                                [WARMUP, 1]
  --scenarios LIST    comma-separated subset of 1,2,3,4                      [SCENARIOS, 1,2,3,4]
  --memcached-only    do not start flared (measure memcached alone)
  -h, --help          this text

Scenarios (all: 50 connections, get:set 90:10, 32-byte values, 10000 keys):
  1  flared memory engine, no pipelining     2  flared memory engine, pipeline 16
  3  flared tch engine, no pipelining        4  flared tch engine, pipeline 16

Binaries: FLARED (default .build/release/flared), FLARE_BENCH (default
.build/release/flare-bench), MEMCACHED (default: memcached from PATH). Missing
default binaries are built with `swift build -c release`.
EOF
}

die() { echo "bench-vs-memcached: $*" >&2; exit 1; }
say() { echo "bench-vs-memcached: $*" >&2; }

rounds=${ROUNDS:-3}
duration=${DURATION:-10}
warmup=${WARMUP:-1}
scenarios=${SCENARIOS:-1,2,3,4}
memcached_only=0
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) rounds=${2:?--rounds needs a value}; shift 2 ;;
        --duration) duration=${2:?--duration needs a value}; shift 2 ;;
        --warmup) warmup=${2:?--warmup needs a value}; shift 2 ;;
        --scenarios) scenarios=${2:?--scenarios needs a value}; shift 2 ;;
        --memcached-only) memcached_only=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "--rounds must be a positive integer, got '$rounds'"
[[ $duration =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--duration must be a number of seconds, got '$duration'"
[[ $warmup =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--warmup must be a number of seconds, got '$warmup'"
[[ $scenarios =~ ^[1-4](,[1-4])*$ ]] || die "--scenarios must be a comma-separated subset of 1,2,3,4, got '$scenarios'"

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

# --- processes we start, cleaned up on any exit (including Ctrl-C) ---------------------
memcached_pid=""
flared_pid=""
bench_pid=""
tmp_root=$(mktemp -d "${TMPDIR:-/tmp}/bench-vs-memcached.XXXXXX")

stop_pid() {   # stop_pid PID: TERM, wait up to 5 s, then KILL
    local pid=$1 i
    [ -n "$pid" ] || return 0
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    trap - EXIT INT TERM
    stop_pid "$bench_pid"
    stop_pid "$flared_pid"
    stop_pid "$memcached_pid"
    rm -rf "$tmp_root"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT
trap 'say "terminated"; exit 143' TERM

# --- binaries ----------------------------------------------------------------------------
memcached_bin=${MEMCACHED:-memcached}
if ! command -v "$memcached_bin" >/dev/null 2>&1; then
    die "memcached not found ('$memcached_bin'); install it with: sudo apt-get install memcached"
fi
memcached_bin=$(command -v "$memcached_bin")

bench_bin=${FLARE_BENCH:-$root/.build/release/flare-bench}
if [ ! -x "$bench_bin" ]; then
    [ -z "${FLARE_BENCH:-}" ] || die "FLARE_BENCH=$FLARE_BENCH is not an executable file"
    say "building flare-bench (swift build -c release --product flare-bench)"
    swift build -c release --product flare-bench >&2 || die "building flare-bench failed"
fi

flared_bin=""
if [ "$memcached_only" = 0 ]; then
    flared_bin=${FLARED:-$root/.build/release/flared}
    if [ ! -x "$flared_bin" ] && [ -z "${FLARED:-}" ]; then
        say "building flared (swift build -c release --product flared)"
        swift build -c release --product flared >&2 || say "building flared failed"
    fi
    if [ ! -x "$flared_bin" ]; then
        say "flared not found at '$flared_bin': set FLARED=/path/to/flared or build it with"
        say "  swift build -c release --product flared"
        say "continuing with memcached only"
        flared_bin=""
    fi
fi

# --- helpers -----------------------------------------------------------------------------
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
    local p i
    for i in $(seq 100); do
        p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
        if ! port_open "$p"; then echo "$p"; return 0; fi
    done
    die "no free TCP port found"
}

# wait_listening NAME PID PORT LOG: wait up to 15 s for PORT to accept connections.
wait_listening() {
    local name=$1 pid=$2 port=$3 log=$4 i
    for i in $(seq 150); do
        if ! kill -0 "$pid" 2>/dev/null; then
            say "$name exited before listening on port $port; last lines of $log:"
            tail -n 5 "$log" >&2 || true
            return 1
        fi
        port_open "$port" && return 0
        sleep 0.1
    done
    say "$name did not listen on port $port within 15 s (log: $log)"
    return 1
}

# Other programs on the machine may take a free port between our pick and our bind: try again.
start_memcached() {
    local attempt
    for attempt in 1 2 3; do
        start_memcached_once && return 0
        say "retrying memcached on another port"
    done
    die "could not start memcached"
}

start_memcached_once() {
    local user_args=()
    [ "$(id -u)" != 0 ] || user_args=(-u nobody)   # memcached refuses to run as root
    memcached_port=$(free_port)
    "$memcached_bin" -t 2 -m 1024 -U 0 -l 127.0.0.1 -p "$memcached_port" "${user_args[@]}" \
        >"$tmp_root/memcached.log" 2>&1 &
    memcached_pid=$!
    wait_listening memcached "$memcached_pid" "$memcached_port" "$tmp_root/memcached.log"
}

# start_flared ENGINE: starts flared with a fresh data directory; returns 1 if it fails.
start_flared() {
    local attempt
    for attempt in 1 2 3; do
        start_flared_once "$1" && return 0
    done
    return 1
}

start_flared_once() {
    local engine=$1 dir
    dir=$(mktemp -d "$tmp_root/flared-$engine.XXXXXX")
    flared_port=$(free_port)
    # Two worker threads, as memcached -t 2.
    "$flared_bin" --data-dir "$dir" --server-port "$flared_port" --storage-type "$engine" --thread-pool-size 2 \
        >"$dir/flared.log" 2>&1 &
    flared_pid=$!
    if ! wait_listening "flared ($engine)" "$flared_pid" "$flared_port" "$dir/flared.log"; then
        stop_pid "$flared_pid"
        flared_pid=""
        cp "$dir/flared.log" "$out/flared-$engine.log" 2>/dev/null || true
        return 1
    fi
}

stop_flared() { stop_pid "$flared_pid"; flared_pid=""; }

# run_bench PORT PIPELINE OUTFILE: one flare-bench run; its JSON goes to OUTFILE.
run_bench() {
    local port=$1 pipeline=$2 file=$3
    "$bench_bin" --port "$port" --connections 50 --ratio 90:10 --value-size 32 --keys 10000 \
        --pipeline "$pipeline" --duration "$duration" --warmup "$warmup" --json \
        >"$file" 2>"$file.err" &
    bench_pid=$!
    local rc=0
    wait "$bench_pid" || rc=$?
    bench_pid=""
    if [ "$rc" != 0 ]; then
        say "flare-bench failed against port $port: $(tail -n 1 "$file.err")"
        return 1
    fi
    rm -f "$file.err"
}

ops_of() { grep -o '"ops_per_sec":[0-9.]*' "$1" | cut -d: -f2; }

median() {   # median of the numbers on stdin, "" if none
    sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) exit
        if (NR % 2) printf "%.0f", v[(NR + 1) / 2]
        else printf "%.0f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

thousands() {   # 1234567 -> 1,234,567; "" -> n/a
    if [ -z "$1" ]; then echo "n/a"; else echo "$1" | sed -e ':a' -e 's/\B[0-9]\{3\}\>/,&/' -e 'ta'; fi
}

# --- scenarios ---------------------------------------------------------------------------
engine_of() { case $1 in 1|2) echo memory ;; 3|4) echo tch ;; esac; }
pipeline_of() { case $1 in 1|3) echo 1 ;; 2|4) echo 16 ;; esac; }
label_of() {
    local p
    p=$(pipeline_of "$1")
    [ "$p" = 1 ] && p="no pipelining" || p="pipeline $p"
    echo "$(engine_of "$1") engine, 50 conns, 90:10, 32 B, $p"
}

out="$root/bench-results/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"

start_memcached
say "memcached $("$memcached_bin" -V | awk '{print $2}') on port $memcached_port;" \
    "$rounds round(s) of ${duration} s (+${warmup} s warm-up) per server and scenario"

rows=()
current_engine=""
flared_ok=0
for s in ${scenarios//,/ }; do
    engine=$(engine_of "$s")
    pipeline=$(pipeline_of "$s")
    if [ -n "$flared_bin" ] && [ "$engine" != "$current_engine" ]; then
        stop_flared
        current_engine=$engine
        flared_ok=0
        if start_flared "$engine"; then
            flared_ok=1
            say "flared ($engine) on port $flared_port"
        else
            say "flared ($engine) unavailable: its scenarios show n/a"
        fi
    fi
    mc_ops=()
    fl_ops=()
    for r in $(seq "$rounds"); do
        f="$out/s$s-memcached-r$r.json"
        say "scenario $s ($(label_of "$s")), round $r/$rounds: memcached"
        run_bench "$memcached_port" "$pipeline" "$f" || die "benchmarking memcached failed"
        mc_ops+=("$(ops_of "$f")")
        if [ "$flared_ok" = 1 ]; then
            f="$out/s$s-flared-r$r.json"
            say "scenario $s ($(label_of "$s")), round $r/$rounds: flared"
            if run_bench "$flared_port" "$pipeline" "$f"; then
                fl_ops+=("$(ops_of "$f")")
            elif ! kill -0 "$flared_pid" 2>/dev/null; then
                say "flared ($engine) died; see $out/flared-$engine.log"
                cp "$tmp_root"/flared-"$engine".*/flared.log "$out/flared-$engine.log" 2>/dev/null || true
                flared_ok=0
            fi
        fi
    done
    mc=$(printf '%s\n' "${mc_ops[@]}" | median)
    fl=""
    [ ${#fl_ops[@]} = 0 ] || fl=$(printf '%s\n' "${fl_ops[@]}" | median)
    ratio="n/a"
    [ -z "$fl" ] || ratio=$(awk -v a="$fl" -v b="$mc" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
    rows+=("| $s. $(label_of "$s") | $(thousands "$mc") | $(thousands "$fl") | $ratio |")
done
stop_flared

{
    echo "flare-bench, ${rounds} round(s) of ${duration} s per server, median ops/s;" \
        "memcached $("$memcached_bin" -V | awk '{print $2}') -t 2, $(nproc) CPU(s)"
    echo
    echo "| scenario | memcached ops/s | flared ops/s | flared / memcached |"
    echo "|---|---:|---:|---:|"
    printf '%s\n' "${rows[@]}"
} | tee "$out/summary.md"
say "raw results in ${out#"$root"/}/"
