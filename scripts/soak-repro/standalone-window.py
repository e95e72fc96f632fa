# Reproduction: a flared restarted after kill -9 answers data requests from its own stale store
# ("standalone") until its registration with the index completes.
import os, sys, time, tempfile, signal
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import soak
bindir = sys.argv[1]
work = tempfile.mkdtemp(prefix="flare-standalone-")
c = soak.Cluster(bindir, work, work + "/pids")
try:
    assert c.start_index()
    n1, n2, _ = c.nodes; c.nodes = [n1, n2]
    for n in (n1, n2):
        n.start(); assert soak.wait_port(n.host, n.port, 10)
    assert c.wait_map(lambda m: n1.key in m and n2.key in m, 10)
    print("master:", c.index_command(f"node role {n1.host} {n1.port} master 1 0"))
    print("slave: ", c.index_command(f"node role {n2.host} {n2.port} slave 0 0"))
    assert c.wait_map(lambda m: m.get(n2.key, {}).get("state") == "active", 10)
    assert soak.wait_maps_in_sync(c, 10)
    k = soak.Conn(n1.host, n1.port)
    print("set k=old via node1:", k.command(b"set k 0 0 3\r\nold\r\n")); k.close()
    n1.kill9()
    assert c.wait_map(lambda m: m.get(n2.key, {}).get("role") == "master", 15)
    k2 = soak.Conn(n2.host, n2.port)
    print("after fail-over, set k=new via node2 (new master):", k2.command(b"set k 0 0 3\r\nnew\r\n"))
    n1.start()
    t0 = time.time()
    seen = []
    while time.time() - t0 < 3:
        try:
            conn = soak.Conn(n1.host, n1.port, 1)
            got = conn.get_many(["k"]).get("k")
            r = conn.command(f"set w{len(seen)} 0 0 5\r\nwrite\r\n".encode())
            conn.close()
            seen.append((round(time.time() - t0, 3), got, r))
            if len(seen) > 1 and seen[-1][1] == "new": break
        except Exception as e:
            pass
    for s in seen[:5]: print("restarted node1 at +%.3f s: get k -> %r; set w -> %r" % s)
    print("... %d answers, last: %r" % (len(seen), seen[-1] if seen else None))
    time.sleep(1)
    acked = [f"w{i}" for i, x in enumerate(seen) if x[2] == "STORED"]
    on_master = soak.Conn(n2.host, n2.port).get_many(acked)
    lost = [w for w in acked if w not in on_master]
    print(f"acknowledged writes through the restarted node: {len(acked)}; missing on the master: {len(lost)} {lost[:8]}")
finally:
    for d in [c.index] + c.nodes: d.terminate()
