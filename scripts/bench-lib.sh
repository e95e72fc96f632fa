# Helpers shared by the cluster benchmarks (sourced, not run).

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

send() { # host port request -> reply (one line, or STAT lines up to END)
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

wait_node() { # index-port node-key state role [seconds]: until the index lists the node so
    local deadline=$((SECONDS + ${5:-600}))
    until send 127.0.0.1 "$1" 'stats nodes\r\n' | grep -q "STAT $2:state $3" && send 127.0.0.1 "$1" 'stats nodes\r\n' | grep -q "STAT $2:role $4"; do
        [ $SECONDS -lt $deadline ] || { echo "timed out waiting for $2 to be $4/$3" >&2; exit 1; }
        sleep 0.05
    done
}

profiler() { # tool work-dir bin-dir: sets `profiled_bin` (the flared to run) and `wrap` (the command before it)
    profiled_bin=$3/flared
    case $1 in
        callgrind)
            # valgrind 3.19 cannot read the Swift toolchain's debug info: profile a copy without it
            # (the symbol table still names every function).
            profiled_bin=$2/flared; cp "$3/flared" "$profiled_bin"; strip -g "$profiled_bin"
            wrap=(valgrind --tool=callgrind --instr-atstart=no "--callgrind-out-file=$2/callgrind.%p") ;;
        strace) wrap=(strace -f -c -o "$2/strace.out") ;;
        *) echo "TOOL must be callgrind or strace" >&2; exit 2 ;;
    esac
}
