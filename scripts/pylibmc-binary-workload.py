#!/usr/bin/env python3
"""A pylibmc client workload in binary-protocol mode, checked against memcached's answers.

usage: pylibmc-binary-workload.py HOST PORT [--prefix P] [--cluster]

Prints one line per step (name and result) and exits 1 if a result differs from what Debian's
memcached 1.6.18 answers (the integration tests also compare the printed lines with a real
memcached). --cluster leaves out what a cluster answers differently on purpose: flush_all (it
flushes only the node it is sent to) and keys with spaces (they cannot be forwarded or copied).
Exit 3: pylibmc is missing.
"""
import sys

try:
    import pylibmc
except ImportError as e:
    print("pylibmc is not installed: %s" % e)
    sys.exit(3)

args = sys.argv[1:]
host, port = args[0], int(args[1])
prefix = args[args.index("--prefix") + 1] if "--prefix" in args else "pl:"
cluster = "--cluster" in args

mc = pylibmc.Client(["%s:%d" % (host, port)], binary=True, behaviors={"cas": True})
fails = []


def k(name):
    return prefix + name


def step(name, fn, want):
    try:
        got = fn()
    except Exception as e:  # the client's error class is the observable result
        got = "raises " + type(e).__name__
    print("%s: %r" % (name, got))
    if got != want:
        fails.append("%s: got %r, want %r" % (name, got, want))


step("set", lambda: mc.set(k("a"), "alpha"), True)
step("get", lambda: mc.get(k("a")), "alpha")
step("get miss", lambda: mc.get(k("missing")), None)
step("add existing", lambda: mc.add(k("a"), "x"), False)
step("add new", lambda: mc.add(k("b"), "beta"), True)
step("replace missing", lambda: mc.replace(k("missing"), "x"), "raises NotFound")
step("replace", lambda: mc.replace(k("b"), "beta2"), True)
step("append", lambda: mc.append(k("b"), "!"), True)
step("prepend", lambda: mc.prepend(k("b"), "<"), True)
step("append missing", lambda: mc.append(k("missing"), "!"), False)
step("get appended", lambda: mc.get(k("b")), "<beta2!")
step("set int", lambda: mc.set(k("n"), 5), True)
step("incr", lambda: mc.incr(k("n"), 10), 15)
step("decr below zero", lambda: mc.decr(k("n"), 100), 0)
step("incr missing", lambda: mc.incr(k("missing")), "raises NotFound")
step("incr non-numeric", lambda: mc.incr(k("a")), "raises UnknownReadFailure")
step("set_multi", lambda: mc.set_multi({k("m%d" % i): "v%d" % i for i in range(50)}), [])
# get_multi pipelines getkq requests and ends them with a noop.
step("get_multi", lambda: sorted(mc.get_multi([k("m%d" % i) for i in range(60)]).items()),
     sorted((k("m%d" % i), "v%d" % i) for i in range(50)))
step("delete_multi", lambda: mc.delete_multi([k("m%d" % i) for i in range(10)]), True)
step("get_multi after delete", lambda: len(mc.get_multi([k("m%d" % i) for i in range(50)])), 40)
step("add_multi", lambda: sorted(mc.add_multi({k("m1"): "x", k("m11"): "y"})), [k("m11")])


def cas_round():
    value, cas = mc.gets(k("a"))
    first = mc.cas(k("a"), "alpha2", cas)
    stale = mc.cas(k("a"), "alpha3", cas)
    return value, first, stale, mc.get(k("a"))


step("gets and cas", cas_round, ("alpha", True, False, "alpha2"))
step("cas missing", lambda: mc.cas(k("missing"), "x", 12345), "raises NotFound")
step("touch", lambda: mc.touch(k("a"), 100), True)
step("touch missing", lambda: mc.touch(k("missing"), 100), False)
step("pickled object", lambda: (mc.set(k("obj"), {"x": [1, 2]}), mc.get(k("obj"))), (True, {"x": [1, 2]}))
blob = bytes(range(256)) * 3500
step("binary value 900 KB", lambda: (mc.set(k("blob"), blob), mc.get(k("blob")) == blob), (True, True))
step("delete", lambda: mc.delete(k("b")), True)
step("delete missing", lambda: mc.delete(k("b")), False)
step("get deleted", lambda: mc.get(k("b")), None)
step("stats", lambda: all("pid" in s for _, s in mc.get_stats()), True)
if not cluster:
    step("key with a space", lambda: (mc.set(k("with space"), "s"), mc.get(k("with space"))), (True, "s"))
    step("flush_all", lambda: mc.flush_all(), True)
    step("get flushed", lambda: mc.get(k("a")), None)
mc.disconnect_all()
if fails:
    print("FAILED:\n" + "\n".join(fails))
    sys.exit(1)
print("pylibmc binary ok")
