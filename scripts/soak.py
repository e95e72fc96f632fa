#!/usr/bin/python3
"""Soak test of a real flare cluster on loopback (run through scripts/soak; docs/fuzz-and-soak.md).

flarei + 3 flared (127.0.0.1-3, free ports, a temp dir), partition 0 = master + slave, partition 1 =
master, sync replication everywhere. Writer threads do random set/delete/incr/append through random
nodes and keep, per key, the set of values the cluster may hold (None = absent): an acknowledged
reply narrows it, a reply that fits no possible value is a failure at once, an error or timeout
widens it (either outcome accepted). Every CHAOS_INTERVAL seconds one chaos action: kill -9 a master
that has an active slave and restart it with --rejoin-as-slave true, SIGSTOP/SIGCONT a node for 3 s,
or restart (kill -9) the index. Nodes left as proxies are made slaves again. At the end every key is
read through every node (slaves get a read weight first, so they answer from their own copy).

Python 3 standard library only. Exit status: 0 all checks passed, 1 a mismatch, 2 the cluster
could not be set up or did not settle, 3 the overall time limit was hit.
"""
import argparse
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time

ANY = "<any>"           # a key whose value the model no longer constrains
GRACE = 15.0            # after an unknown outcome a key rests this long (a stalled request may still land)
OP_TIMEOUT = 6.0        # client timeout per request (a SIGSTOP lasts 3 s, sync replication waits ≤ 3 s)
MAX_STATES = 64


def log(msg):
    print(f"[soak {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------------------------------------------
# Wire client

class Refused(Exception):
    """The connection could not be opened: nothing was sent."""


class Conn:
    def __init__(self, host, port, timeout=OP_TIMEOUT):
        self.host, self.port, self.timeout = host, port, timeout
        self.sock = None
        self.buf = b""

    def close(self):
        if self.sock:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock, self.buf = None, b""

    def _connect(self):
        if self.sock is None:
            try:
                self.sock = socket.create_connection((self.host, self.port), timeout=min(self.timeout, 2.0))
            except OSError as e:
                raise Refused(str(e))
            self.sock.settimeout(self.timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by server")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("latin-1")

    def _exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by server")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def command(self, data):
        """Sends one request, returns its one-line reply. Refused / socket errors propagate."""
        self._connect()
        try:
            self.sock.sendall(data)
            return self._line()
        except Exception:
            self.close()
            raise

    def lines_until_end(self, data, deadline=5.0):
        self._connect()
        try:
            self.sock.sendall(data)
            out = []
            while True:
                line = self._line()
                if line in ("END", "ERROR") or line.startswith(("SERVER_ERROR", "CLIENT_ERROR")):
                    return out, line
                out.append(line)
        except Exception:
            self.close()
            raise

    def get_many(self, keys):
        """{key: value} for the keys present; raises on an error reply."""
        self._connect()
        try:
            self.sock.sendall(("get " + " ".join(keys) + "\r\n").encode())
            found = {}
            while True:
                line = self._line()
                if line == "END":
                    return found
                m = re.match(r"VALUE (\S+) (\d+) (\d+)", line)
                if not m:
                    raise RuntimeError(f"get: {line}")
                data = self._exact(int(m.group(3)) + 2)
                found[m.group(1)] = data[:-2].decode("latin-1")
        except Exception:
            self.close()
            raise


def one_shot(host, port, request, timeout=2.0):
    c = Conn(host, port, timeout)
    try:
        if request.startswith(("stats", "dump")):
            return c.lines_until_end(request.encode())
        return c.command(request.encode())
    finally:
        c.close()


# ---------------------------------------------------------------------------------------------------
# Processes

class Daemon:
    def __init__(self, name, argv, logpath, pidfile):
        self.name, self.argv, self.logpath, self.pidfile = name, argv, logpath, pidfile
        self.proc = None
        self.stopped = False
        self.started_at = 0.0

    def start(self, extra=()):
        logf = open(self.logpath, "ab")
        logf.write(f"\n==== start {time.strftime('%H:%M:%S')} {' '.join(self.argv + list(extra))}\n".encode())
        logf.flush()
        self.proc = subprocess.Popen(self.argv + list(extra), stdout=logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        logf.close()
        with open(self.pidfile, "a") as f:
            f.write(f"{self.proc.pid}\n")
        self.stopped = False
        self.started_at = time.time()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        if self.alive():
            try:
                os.kill(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    def kill9(self):
        self.signal(signal.SIGKILL)
        if self.proc:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    def terminate(self):
        if self.alive():
            if self.stopped:
                self.signal(signal.SIGCONT)
            self.signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill9()


def free_port(host):
    s = socket.socket()
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(host, port, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


class Cluster:
    def __init__(self, bindir, work, pidfile):
        self.work = work
        self.index_host, self.index_port = "127.0.0.1", free_port("127.0.0.1")
        os.makedirs(f"{work}/index", exist_ok=True)
        self.index = Daemon("index", [f"{bindir}/flarei", "--data-dir", f"{work}/index", "--server-name", self.index_host,
                                      "--server-address", self.index_host, "--server-port", str(self.index_port),
                                      "--monitor-interval", "1", "--monitor-threshold", "2", "--monitor-read-timeout", "500"],
                            f"{work}/index.log", pidfile)
        self.nodes = []
        for i in (1, 2, 3):
            host = f"127.0.0.{i}"
            port = free_port(host)
            os.makedirs(f"{work}/node{i}", exist_ok=True)
            d = Daemon(f"node{i}", [f"{bindir}/flared", "--data-dir", f"{work}/node{i}", "--server-name", host,
                                    "--server-address", host, "--server-port", str(port),
                                    "--index-servers", f"{self.index_host}:{self.index_port}",
                                    "--replication-type", "sync", "--thread-pool-size", "3"],
                       f"{work}/node{i}.log", pidfile)
            d.host, d.port, d.key = host, port, f"{host}:{port}"
            self.nodes.append(d)
        self.by_key = {n.key: n for n in self.nodes}

    def index_command(self, line):
        try:
            return one_shot(self.index_host, self.index_port, line + "\r\n", timeout=3)
        except Exception as e:
            return f"<{type(e).__name__}: {e}>"

    def node_map(self, host=None, port=None):
        """{node key: {role, state, partition, balance}} from `stats nodes` (the index's by default)."""
        try:
            lines, _ = one_shot(host or self.index_host, port or self.index_port, "stats nodes\r\n", timeout=2)
        except Exception:
            return None
        out = {}
        for line in lines:
            m = re.match(r"STAT (\S+):(\d+):(\w+) (\S+)", line)
            if m:
                out.setdefault(f"{m.group(1)}:{m.group(2)}", {})[m.group(3)] = m.group(4)
        return out

    def start_index(self):
        self.index.start()
        return wait_port(self.index_host, self.index_port, 10)

    def wait_map(self, predicate, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = self.node_map()
            if m and predicate(m):
                return m
            time.sleep(0.1)
        return None


# ---------------------------------------------------------------------------------------------------
# The model: per key, the set of values the cluster may hold (None = absent), or ANY.

def apply_op(op, arg, state):
    """(the reply the op gets on `state`, the state after it)."""
    if op == "set":
        return "STORED", arg
    if op == "delete":
        return ("NOT_FOUND", None) if state is None else ("DELETED", None)
    if op == "append":
        return ("NOT_STORED", None) if state is None else ("STORED", state + arg)
    if op == "incr":
        if state is None:
            return "NOT_FOUND", None
        if re.fullmatch(r"[0-9]+", state) and int(state) < 2 ** 64:
            n = str((int(state) + arg) % 2 ** 64)
            return n, n
        return "CLIENT_ERROR cannot increment or decrement non-numeric value", state
    raise ValueError(op)


def implied_state(op, arg, reply):
    """What a reply alone tells about the state after it (ANY when it tells nothing)."""
    if op == "set" and reply == "STORED":
        return {arg}
    if reply in ("NOT_FOUND", "DELETED", "NOT_STORED"):
        return {None}
    if op == "incr" and re.fullmatch(r"[0-9]+", reply):
        return {reply}
    return ANY


def is_definite(op, reply):
    """A reply that tells what happened (as opposed to an error whose outcome is unknown)."""
    if reply in ("STORED", "NOT_STORED", "DELETED", "NOT_FOUND"):
        return True
    if op == "incr" and (re.fullmatch(r"[0-9]+", reply) or reply.startswith("CLIENT_ERROR cannot increment")):
        return True
    return False


def error_kind(reply):
    return re.sub(r"\d+(\.\d+){3}:\d+|\d+", "N", reply)[:70]


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.writes = 0
        self.acked = 0
        self.by_op = {}
        self.errors = {}
        self.inconsistent = []

    def add(self, op, kind=None):
        with self.lock:
            self.writes += 1
            self.by_op[op] = self.by_op.get(op, 0) + 1
            if kind is None:
                self.acked += 1
            else:
                self.errors[kind] = self.errors.get(kind, 0) + 1


class Writer(threading.Thread):
    def __init__(self, number, cluster, keys, stats, stop, seed, skip_fresh):
        super().__init__(daemon=True, name=f"writer{number}")
        self.cluster, self.keys, self.stats, self.stop = cluster, keys, stats, stop
        self.rng = random.Random(seed)
        self.model = {k: {None} for k in keys}       # keys start absent (fresh cluster)
        self.resting = {}                            # key -> time until which it is not written
        self.conns = {n.key: Conn(n.host, n.port) for n in cluster.nodes}
        self.uncertain_keys = set()
        self.skip_fresh = skip_fresh
        self.t0 = time.time()

    def run(self):
        while not self.stop.is_set():
            now = time.time()
            candidates = [k for k in self.keys if self.resting.get(k, 0) <= now]
            if not candidates:
                time.sleep(0.05)
                continue
            key = self.rng.choice(candidates)
            nodes = [n for n in self.cluster.nodes if now - n.started_at >= self.skip_fresh] or self.cluster.nodes
            node = self.rng.choice(nodes)
            r = self.rng.random()
            if r < 0.35:
                op = "set"
                arg = str(self.rng.randrange(10 ** 6)) if self.rng.random() < 0.9 else f"v{self.rng.randrange(1000)}"
                req = f"set {key} 0 0 {len(arg)}\r\n{arg}\r\n"
            elif r < 0.60:
                op, arg = "append", str(self.rng.randrange(1, 1000))
                req = f"append {key} 0 0 {len(arg)}\r\n{arg}\r\n"
            elif r < 0.85:
                op, arg = "incr", self.rng.randrange(1, 100)
                req = f"incr {key} {arg}\r\n"
            else:
                op, arg = "delete", None
                req = f"delete {key}\r\n"
            self.step(key, node, op, arg, req)
            time.sleep(0.001)
        for c in self.conns.values():
            c.close()

    def step(self, key, node, op, arg, req):
        conn = self.conns[node.key]
        try:
            reply = conn.command(req.encode())
        except Refused:
            self.stats.add(op, "connection refused (not sent)")
            return
        except socket.timeout:
            reply, kind = None, "timeout"
        except (ConnectionError, OSError) as e:
            reply, kind = None, f"connection error ({type(e).__name__})"
        if reply is not None and is_definite(op, reply):
            self.stats.add(op)
            states = self.model[key]
            if states is ANY:
                self.model[key] = implied_state(op, arg, reply)
                return
            after = set()
            for s in states:
                expected, new = apply_op(op, arg, s)
                if expected == reply:
                    after.add(new)
            if not after:
                age = time.time() - node.started_at
                note = f" ({node.name} restarted {age:.2f} s before)" if age < 10 and node.started_at > self.t0 else ""
                with self.stats.lock:
                    self.stats.inconsistent.append(
                        f"+{time.time() - self.t0:.1f} s {key}: {req.splitlines()[0]!r} via {node.name}{note} got {reply!r}; "
                        f"possible before: {sorted(map(repr, states))[:6]}")
                after = implied_state(op, arg, reply)
            self.model[key] = after
            return
        if reply is not None:
            conn.close()   # after an error reply, start afresh
            kind = error_kind(reply)
        self.stats.add(op, kind)
        self.uncertain_keys.add(key)
        self.resting[key] = time.time() + GRACE
        states = self.model[key]
        if states is ANY:
            return
        widened = set(states)
        for s in states:
            widened.add(apply_op(op, arg, s)[1])
        self.model[key] = widened if len(widened) <= MAX_STATES else ANY


# ---------------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("minutes", type=float, nargs="?", default=5.0)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--writers", type=int, default=int(os.environ.get("SOAK_WRITERS", "6")))
    ap.add_argument("--keys", type=int, default=int(os.environ.get("SOAK_KEYS", "40")), help="keys per writer")
    ap.add_argument("--chaos-interval", type=float, default=float(os.environ.get("CHAOS_INTERVAL", "12")))
    ap.add_argument("--skip-fresh", type=float, default=float(os.environ.get("SOAK_SKIP_FRESH", "0")),
                    help="writers avoid a node for this many seconds after it was (re)started")
    ap.add_argument("--avoid-known", action="store_true", default=bool(os.environ.get("SOAK_AVOID_KNOWN")),
                    help="steer clear of the known findings in docs/fuzz-and-soak.md, to look for others")
    ap.add_argument("--seed", type=int, default=int(os.environ.get("SOAK_SEED", str(int(time.time())))))
    a = ap.parse_args()

    if a.avoid_known and not a.skip_fresh:
        a.skip_fresh = 3.0
    run_seconds = a.minutes * 60
    hard_limit = run_seconds + 300
    rng = random.Random(a.seed)
    pidfile = f"{a.work}/pids"
    cluster = Cluster(a.bin, a.work, pidfile)
    everything = [cluster.index] + cluster.nodes

    def cleanup():
        for d in everything:
            d.terminate()

    def watchdog():
        time.sleep(hard_limit)
        log(f"overall time limit ({hard_limit:.0f} s) reached: stopping everything")
        for d in everything:
            d.signal(signal.SIGCONT)
            d.signal(signal.SIGKILL)
        print("0 passed, 1 failed (time limit)", flush=True)
        os._exit(3)
    threading.Thread(target=watchdog, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(4))

    try:
        return run(a, rng, cluster, run_seconds)
    finally:
        cleanup()


def run(a, rng, cluster, run_seconds):
    log(f"seed {a.seed}; work dir {a.work}; {a.writers} writers x {a.keys} keys; chaos every {a.chaos_interval:.0f} s"
        + (f"; writers avoid a restarted node for {a.skip_fresh:.1f} s" if a.skip_fresh else "")
        + ("; avoiding the known findings" if a.avoid_known else ""))
    # --- set-up -------------------------------------------------------------------------------
    if not cluster.start_index():
        log("index did not start"); return 2
    for n in cluster.nodes:
        n.start()
    for n in cluster.nodes:
        if not wait_port(n.host, n.port, 10):
            log(f"{n.name} did not start"); return 2
    if not cluster.wait_map(lambda m: all(n.key in m for n in cluster.nodes), 15):
        log("nodes did not register with the index"); return 2
    n1, n2, n3 = cluster.nodes
    # One role at a time: a master serves one dump at a time ("SERVER_ERROR database busy" to a second
    # reconstruction, which then fails), so the slave's copy and the new partition's copy must not overlap.
    for node, role in ((n1, "master 1 0"), (n2, "slave 0 0"), (n3, "master 1 1")):
        cmd = f"node role {node.host} {node.port} {role}"
        log(f"{cmd}: {cluster.index_command(cmd)}")
        if not cluster.wait_map(lambda m: m.get(node.key, {}).get("state") == "active", 5):
            cmd = f"node state {node.host} {node.port} active"
            log(f"{cmd}: {cluster.index_command(cmd)}")
    expected = {n1.key: ("master", "0"), n2.key: ("slave", "0"), n3.key: ("master", "1")}
    if not cluster.wait_map(lambda m: all(m.get(k, {}).get("role") == r and m[k].get("partition") == p
                                          and m[k].get("state") == "active" for k, (r, p) in expected.items()), 20):
        log(f"cluster did not come up: {cluster.node_map()}"); return 2
    if not wait_maps_in_sync(cluster, 15):
        log("node maps did not converge"); return 2
    log(f"cluster up: index {cluster.index_host}:{cluster.index_port}; "
        + ", ".join(f"{n.name} {n.key}" for n in cluster.nodes))

    # --- writers + chaos ----------------------------------------------------------------------
    stats = Stats()
    stop = threading.Event()
    writers = [Writer(w, cluster, [f"soak:{w}:{k}" for k in range(a.keys)], stats, stop, a.seed * 100 + w, a.skip_fresh)
               for w in range(a.writers)]
    for w in writers:
        w.start()
    chaos_log = []
    rejoined_at = {}
    start = time.time()
    end = start + run_seconds
    next_chaos = start + a.chaos_interval
    last_report = start
    while time.time() < end:
        time.sleep(0.2)
        now = time.time()
        if now - last_report >= 30:
            last_report = now
            with stats.lock:
                log(f"{now - start:.0f} s: {stats.writes} writes, {stats.acked} acknowledged, "
                    f"{sum(stats.errors.values())} errors, {len(stats.inconsistent)} inconsistent replies")
        if now < next_chaos or now >= end - 3:
            continue
        next_chaos = now + a.chaos_interval
        heal(cluster, rejoined_at, chaos_log, start)
        action = chaos(cluster, rng, rejoined_at, a.avoid_known)
        chaos_log.append(f"+{now - start:.1f} s {action}")
        log(f"chaos: {action}")

    # --- settle ---------------------------------------------------------------------------------
    stop.set()
    for w in writers:
        w.join(timeout=OP_TIMEOUT * 2 + 5)
    writing_ended = time.time()
    log("writers stopped; letting the cluster settle")
    for d in [cluster.index] + cluster.nodes:
        d.signal(signal.SIGCONT)
        if not d.alive():
            log(f"{d.name} is not running (exit {d.proc.returncode}); restarting it")
            d.start(["--rejoin-as-slave", "true"] if d is not cluster.index else [])
    settled = wait_settled(cluster, 90)
    # Requests stalled in a stopped node may land up to GRACE after they were sent.
    time.sleep(max(0.0, writing_ended + GRACE - time.time()))
    final_map = cluster.node_map() or {}
    # Slaves get a read weight so that reads through them answer from their own copy.
    for key, e in final_map.items():
        if e.get("role") == "slave" and e.get("state") == "active" and e.get("balance") == "0":
            host, port = key.rsplit(":", 1)
            cluster.index_command(f"node role {host} {port} slave 1 {e.get('partition')}")
    in_sync = wait_maps_in_sync(cluster, 20)
    final_map = cluster.node_map() or {}
    log("final map: " + "; ".join(f"{k} {e.get('role')}/{e.get('state')}/p{e.get('partition')}/b{e.get('balance')}"
                                  for k, e in sorted(final_map.items())))

    # --- verify ---------------------------------------------------------------------------------
    passed, failed, examples, uncertain_checks = 0, 0, [], 0
    failed_by_node = {}
    model = {}
    for w in writers:
        model.update(w.model)
    keys = sorted(model)
    for n in cluster.nodes:
        conn = Conn(n.host, n.port, timeout=10)
        for i in range(0, len(keys), 50):
            batch = keys[i:i + 50]
            try:
                found = conn.get_many(batch)
            except Exception as e:
                failed += len(batch)
                examples.append(f"via {n.name} {n.key}: get of {len(batch)} keys failed: {e}")
                continue
            for k in batch:
                states = model[k]
                got = found.get(k)
                if states is ANY:
                    uncertain_checks += 1
                    passed += 1
                elif got in states:
                    if len(states) > 1:
                        uncertain_checks += 1
                    passed += 1
                else:
                    failed += 1
                    failed_by_node[n.name] = failed_by_node.get(n.name, 0) + 1
                    examples.append(f"via {n.name} {n.key}: {k} = {got!r}, expected one of {sorted(map(repr, states))[:5]}")
        conn.close()

    # --- report ---------------------------------------------------------------------------------
    kinds = {}
    for c in chaos_log:
        kind = c.split(" s ", 1)[1].split(":")[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    print()
    print(f"soak: {run_seconds / 60:.1f} min, seed {a.seed}, work dir {a.work}")
    print(f"writes: {stats.writes} ({', '.join(f'{op} {n}' for op, n in sorted(stats.by_op.items()))}), "
          f"acknowledged {stats.acked}, errors {sum(stats.errors.values())}")
    for kind, n in sorted(stats.errors.items(), key=lambda x: -x[1]):
        print(f"  error {n:6d}  {kind}")
    print(f"chaos actions: {len(chaos_log)} ({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))})")
    for c in chaos_log:
        print(f"  {c}")
    print(f"cluster settled: {'yes' if settled else 'NO'}; node maps in sync: {'yes' if in_sync else 'NO'}")
    print(f"keys checked: {len(keys)} through {len(cluster.nodes)} nodes = {len(keys) * len(cluster.nodes)} reads "
          f"({uncertain_checks} with more than one accepted outcome)")
    print(f"inconsistent acknowledged replies during the run: {len(stats.inconsistent)}")
    for x in stats.inconsistent[:10]:
        print(f"  {x}")
    print(f"mismatches at the end: {failed}"
          + (f" ({', '.join(f'{k} {v}' for k, v in sorted(failed_by_node.items()))})" if failed_by_node else ""))
    for x in examples[:15]:
        print(f"  {x}")
    failed += len(stats.inconsistent)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


def wait_maps_in_sync(cluster, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        index = cluster.node_map()
        if index and all(strip(cluster.node_map(n.host, n.port)) == strip(index) for n in cluster.nodes):
            return True
        time.sleep(0.2)
    return False


def strip(m):
    return None if m is None else {k: (e.get("role"), e.get("state"), e.get("partition"), e.get("balance")) for k, e in m.items()}


def wait_settled(cluster, timeout):
    """Every node active (none preparing or down), node maps equal to the index's."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = cluster.node_map()
        if m and all(m.get(n.key, {}).get("state") == "active" for n in cluster.nodes):
            if wait_maps_in_sync(cluster, 1):
                return True
        time.sleep(0.3)
    log(f"cluster did not settle: {cluster.node_map()}")
    return False


def heal(cluster, rejoined_at, chaos_log, start):
    """A node left as an active proxy (after a fail-over it returns as one) becomes a slave again,
    of the partition with the fewest nodes; not while its own rejoin-as-slave may still be under way."""
    m = cluster.node_map()
    if not m:
        return
    sizes = {}
    for e in m.values():
        if e.get("role") in ("master", "slave") and e.get("partition", "-1") != "-1":
            sizes[e["partition"]] = sizes.get(e["partition"], 0) + 1
    for key, e in sorted(m.items()):
        if e.get("role") == "proxy" and e.get("state") == "active" and time.time() - rejoined_at.get(key, 0) > 30:
            partition = min(sorted(sizes), key=lambda p: sizes[p]) if sizes else "0"
            host, port = key.rsplit(":", 1)
            reply = cluster.index_command(f"node role {host} {port} slave 0 {partition}")
            chaos_log.append(f"+{time.time() - start:.1f} s heal: {key} proxy -> slave of partition {partition}: {reply}")
            log(chaos_log[-1])
            sizes[partition] = sizes.get(partition, 0) + 1


def chaos(cluster, rng, rejoined_at, avoid_known):
    m = cluster.node_map() or {}
    choice = rng.choice(["kill-master", "kill-master", "stop-node", "restart-index"])
    if choice == "kill-master":
        masters = []
        for key, e in m.items():
            if e.get("role") == "master" and e.get("state") == "active" and key in cluster.by_key:
                partition = e.get("partition")
                if any(x.get("role") == "slave" and x.get("state") == "active" and x.get("partition") == partition
                       for x in m.values()):
                    masters.append(key)
        if not masters:
            choice = "stop-node"
        else:
            key = rng.choice(sorted(masters))
            node = cluster.by_key[key]
            partition = m[key].get("partition")
            t0 = time.time()
            node.kill9()
            promoted = cluster.wait_map(lambda mm: mm.get(key, {}).get("state") == "down", 15)
            successor = next((k for k, e in (promoted or {}).items()
                              if e.get("role") == "master" and e.get("partition") == partition), None)
            took = time.time() - t0
            node.start(["--rejoin-as-slave", "true"])
            rejoined_at[key] = time.time()
            ok = wait_port(node.host, node.port, 10)
            return (f"kill-master: kill -9 {node.name} {key} (master of partition {partition}); "
                    f"{'new master ' + successor if successor else 'NO fail-over'} after {took:.1f} s; "
                    f"restarted with --rejoin-as-slave true{'' if ok else ' (NOT listening)'}")
    if choice == "stop-node":
        candidates = [n for n in cluster.nodes if n.alive()]
        if avoid_known:
            # Known finding: a master stopped while its only slave is still copying comes back as a proxy.
            def risky(n):
                e = m.get(n.key, {})
                p = e.get("partition")
                slaves = [x for x in m.values() if x.get("role") == "slave" and x.get("partition") == p]
                return (e.get("role") == "master" and any(x.get("state") != "active" for x in slaves)
                        and not any(x.get("state") == "active" for x in slaves))
            candidates = [n for n in candidates if not risky(n)] or candidates
        node = rng.choice(candidates)
        role = m.get(node.key, {})
        node.signal(signal.SIGSTOP)
        node.stopped = True
        time.sleep(3)
        node.signal(signal.SIGCONT)
        node.stopped = False
        return f"stop-node: SIGSTOP {node.name} {node.key} ({role.get('role')} of partition {role.get('partition')}) for 3 s, SIGCONT"
    # restart-index
    cluster.index.kill9()
    ok = cluster.start_index()
    return f"restart-index: kill -9 flarei, restarted{'' if ok else ' (NOT listening)'}"


if __name__ == "__main__":
    sys.exit(main())
