# Reproduction: a master that goes down while its only slave is still copying (prepare) is kept as
# "preserved" master/down; when it answers again, the index makes it a proxy because the preparing
# slave counts as "another live node" of the partition. Partition 0 is left without a master.
import os, sys, time, tempfile, signal
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import soak
bindir = sys.argv[1]
work = tempfile.mkdtemp(prefix="flare-preserved-")
c = soak.Cluster(bindir, work, work + "/pids")
n1, n2, _ = c.nodes; c.nodes = [n1, n2]
n2.argv += ["--reconstruction-interval", "100000"]     # the slave copies 10 items/s: it stays in prepare
try:
    assert c.start_index()
    for n in (n1, n2):
        n.start(); assert soak.wait_port(n.host, n.port, 10)
    assert c.wait_map(lambda m: n1.key in m and n2.key in m, 10)
    print("node role master 1 0:", c.index_command(f"node role {n1.host} {n1.port} master 1 0"))
    time.sleep(0.5)
    conn = soak.Conn(n1.host, n1.port)
    for i in range(100):
        assert conn.command(f"set k{i} 0 0 1\r\n{i % 10}\r\n".encode()) == "STORED"
    print("100 keys stored on the master")
    print("node role slave 0 0:", c.index_command(f"node role {n2.host} {n2.port} slave 0 0"))
    time.sleep(1)
    show = lambda: "; ".join(f"{k} {e['role']}/{e['state']}/p{e['partition']}" for k, e in sorted(c.node_map().items()))
    print("map:", show())
    n1.signal(signal.SIGSTOP); print("SIGSTOP master"); time.sleep(3)
    print("map while stopped:", show())
    n1.signal(signal.SIGCONT); print("SIGCONT master"); time.sleep(2)
    print("map after resume:", show())
    conn = soak.Conn(n1.host, n1.port)
    print("set k0 via node1:", conn.command(b"set k0 0 0 1\r\nx\r\n"))
    print("get k1 via node1:", conn.get_many(["k1"]), "(k1 was stored as '1')")
    print("node role ... master 1 0 for node1 again:", c.index_command(f"node role {n1.host} {n1.port} master 1 0"))
finally:
    for d in [c.index] + c.nodes: d.terminate()
    print("logs in", work)
