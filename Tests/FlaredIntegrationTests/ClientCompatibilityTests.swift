#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest

/// Real memcached clients against flared: pymemcache (Debian's python3-pymemcache) and the
/// libmemcached command-line tools (Debian's libmemcached-tools, named memc*).
final class ClientCompatibilityTests: FlaredTestCase {
    static let installHint = "install the test clients: apt-get install libmemcached-tools python3-pymemcache"

    private func requireExecutable(_ path: String) throws {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw HarnessError.message("\(path) is missing; \(ClientCompatibilityTests.installHint)")
        }
    }

    static let pymemcacheScript = #"""
import sys
try:
    from pymemcache.client.base import Client
except ImportError as e:
    print("pymemcache is not installed: %s" % e)
    sys.exit(3)

port = int(sys.argv[1])
c = Client(("127.0.0.1", port), default_noreply=False, connect_timeout=5, timeout=5)
fails = []
def check(name, got, want):
    if got != want:
        fails.append("%s: got %r, want %r" % (name, got, want))

check("set", c.set("pm:a", b"alpha"), True)
check("set flags", c.set("pm:b", b"beta", flags=42), True)
check("get", c.get("pm:a"), b"alpha")
check("get miss", c.get("pm:missing"), None)
check("get_many", c.get_many(["pm:a", "pm:b", "pm:missing"]), {"pm:a": b"alpha", "pm:b": b"beta"})
check("set_many", c.set_many({"pm:m1": b"1", "pm:m2": b"2"}), [])
check("get_many 2", c.get_many(["pm:m1", "pm:m2"]), {"pm:m1": b"1", "pm:m2": b"2"})
value, cas = c.gets("pm:a")
check("gets", value, b"alpha")
check("cas ok", c.cas("pm:a", b"alpha2", cas), True)
check("cas stale", c.cas("pm:a", b"alpha3", cas), False)
check("cas missing", c.cas("pm:missing", b"x", 1), None)
check("get after cas", c.get("pm:a"), b"alpha2")
check("gets_many", sorted(c.gets_many(["pm:a", "pm:b"]).keys()), ["pm:a", "pm:b"])
check("add existing", c.add("pm:a", b"x"), False)
check("add new", c.add("pm:c", b"10"), True)
check("replace missing", c.replace("pm:missing", b"x"), False)
check("replace", c.replace("pm:c", b"20"), True)
check("incr", c.incr("pm:c", 5), 25)
check("decr", c.decr("pm:c", 30), 0)
check("incr missing", c.incr("pm:missing", 1), None)
check("incr wrap", (c.set("pm:w", b"18446744073709551615"), c.incr("pm:w", 1)), (True, 0))
check("append", c.append("pm:b", b"!"), True)
check("prepend", c.prepend("pm:b", b"<"), True)
check("get append", c.get("pm:b"), b"<beta!")
check("touch", c.touch("pm:a", 100), True)
check("touch missing", c.touch("pm:missing", 100), False)
check("delete", c.delete("pm:a"), True)
check("delete missing", c.delete("pm:a"), False)
check("get deleted", c.get("pm:a"), None)
big = bytes(range(256)) * 4096
check("set 1 MiB", c.set("pm:big", big), True)
check("get 1 MiB", c.get("pm:big"), big)
check("version", c.version(), b"flare-1.3.4")
# noreply writes, then a read proves the stream is in sync
c.set("pm:nr", b"quiet", noreply=True)
c.delete("pm:nothing", noreply=True)
c.incr("pm:nr", 1, noreply=True)
check("after noreply", c.get("pm:nr"), b"quiet")
check("flush_all", c.flush_all(), True)
check("get flushed", c.get("pm:b"), None)
c.close()
if fails:
    print("\n".join(fails))
    sys.exit(1)
print("pymemcache ok")
"""#

    func testPymemcache() throws {
        try requireExecutable("/usr/bin/python3")
        let flared = try startFlared()
        let scratch = try scratchDirectory()
        try scratch.write("pymemcache_check.py", ClientCompatibilityTests.pymemcacheScript)
        let run = try ToolRun.run("/usr/bin/python3", [scratch.file("pymemcache_check.py"), String(flared.port)], in: scratch.path)
        if run.status == 3 { throw HarnessError.message("\(run.stdout)\(run.stderr); \(ClientCompatibilityTests.installHint)") }
        XCTAssertEqual(run.status, 0, "pymemcache against flared:\n\(run.stdout)\(run.stderr)")
        XCTAssertEqual(run.stdout, "pymemcache ok\n", run.stderr)
    }

    func testLibmemcachedToolsCopyCatRemoveFlush() throws {
        let tools = ["memccp", "memccat", "memcrm", "memcexist", "memctouch", "memcflush"]
        for tool in tools { try requireExecutable("/usr/bin/\(tool)") }
        let flared = try startFlared()
        let scratch = try scratchDirectory()
        let servers = "--servers=127.0.0.1:\(flared.port)"
        func tool(_ name: String, _ arguments: [String]) throws -> ToolRun {
            try ToolRun.run("/usr/bin/\(name)", [servers] + arguments, in: scratch.path)
        }
        // A binary file of 300 KB and a small text file.
        var blob = [UInt8](repeating: 0, count: 300_000)
        var seed: UInt32 = 7
        for i in blob.indices {
            seed = seed &* 1_664_525 &+ 1_013_904_223
            blob[i] = UInt8(truncatingIfNeeded: seed >> 24)
        }
        try Data(blob).write(to: URL(fileURLWithPath: scratch.file("blob.bin")))
        try scratch.write("note.txt", "hello from memccp\r\nEND\r\n")

        let copy = try tool("memccp", ["--flags=7", "blob.bin", "note.txt"])
        XCTAssertEqual(copy.status, 0, copy.stdout + copy.stderr)
        for name in ["blob.bin", "note.txt"] {
            let cat = try tool("memccat", ["--file=\(name).out", name])
            XCTAssertEqual(cat.status, 0, cat.stdout + cat.stderr)
            let original = try Data(contentsOf: URL(fileURLWithPath: scratch.file(name)))
            let copied = try Data(contentsOf: URL(fileURLWithPath: scratch.file(name + ".out")))
            XCTAssertEqual(copied.count, original.count, name)
            XCTAssertTrue(copied == original, "\(name) read back by memccat differs")
        }
        // The flags memccp set are visible to a raw client.
        let raw = try connect(flared)
        try exchange(raw, "get note.txt\r\n", "VALUE note.txt 7 24\r\nhello from memccp\r\nEND\r\n\r\nEND\r\n")

        XCTAssertEqual(try tool("memcexist", ["blob.bin"]).status, 0)
        XCTAssertNotEqual(try tool("memcexist", ["missing"]).status, 0)
        XCTAssertEqual(try tool("memctouch", ["--expire=1000", "blob.bin"]).status, 0)
        XCTAssertNotEqual(try tool("memctouch", ["--expire=1000", "missing"]).status, 0)
        let remove = try tool("memcrm", ["blob.bin"])
        XCTAssertEqual(remove.status, 0, remove.stdout + remove.stderr)
        XCTAssertNotEqual(try tool("memccat", ["blob.bin"]).status, 0, "memccat of a removed key fails")
        XCTAssertNotEqual(try tool("memcrm", ["blob.bin"]).status, 0)
        try exchange(raw, "get blob.bin\r\n", "END\r\n")
        let flush = try tool("memcflush", [])
        XCTAssertEqual(flush.status, 0, flush.stdout + flush.stderr)
        try exchange(raw, "get note.txt\r\n", "END\r\n")
    }
}
