import Foundation
import XCTest

/// A client library (pymemcache) and meta commands through a proxy node: writes reach the master
/// and its slave with the same versions, replies keep their order, quiet mode and `mn` behave as
/// on one memcached, and a multi-get of 5,000 keys (a 170 KB line) comes back whole.
final class MetaThroughProxyTests: ClusterTestCase {
    static let script = #"""
import socket, sys
from pymemcache.client.base import Client

host, port = sys.argv[1], int(sys.argv[2])
c = Client((host, port), connect_timeout=10, timeout=30)

def check(what, got, want):
    if got != want:
        print("FAIL %s: got %r, want %r" % (what, got, want))
        sys.exit(1)

# The text protocol through the proxy.
keys = ["multi-key-%05d-with-some-padding" % i for i in range(5000)]
check("set_many", c.set_many({k: b"v" + k.encode() for k in keys[::2]}), [])
got = c.get_many(keys)
check("get_many hits", len(got), 2500)
check("get_many value", got[keys[10]], b"v" + keys[10].encode())
check("gets", c.gets("multi-key-00000-with-some-padding")[0], b"vmulti-key-00000-with-some-padding")
value, cas = c.gets(keys[2])
check("cas", c.cas(keys[2], b"changed", cas), True)
check("stale cas", c.cas(keys[2], b"again", cas), False)
check("incr", (c.set("counter", b"10"), c.incr("counter", 5))[1], 15)

# Meta commands on a raw socket through the same proxy.
s = socket.create_connection((host, port), timeout=30)
buffer = b""
def exchange(request, until=b"MN\r\n"):
    global buffer
    s.sendall(request)
    while until not in buffer:
        data = s.recv(65536)
        if not data:
            raise SystemExit("FAIL connection closed after %r" % request)
        buffer += data
    end = buffer.index(until) + len(until)
    reply, buffer = buffer[:end], buffer[end:]
    return reply

check("ms/mg", exchange(b"ms mk 5 T0 F3 c\r\nhello\r\nmg mk v f k O77\r\nmn\r\n").split(b"\r\n")[1:],
      [b"VA 5 f3 kmk O77", b"hello", b"MN", b""])
check("quiet miss and quiet hit, in order", exchange(b"mg nokey v q\r\nms qk 1 q\r\nx\r\nmg qk v q\r\nmd nokey q\r\nmn\r\n"),
      b"VA 1\r\nx\r\nNF\r\nMN\r\n")
check("data block is data", exchange(b"set victim 0 0 1\r\nv\r\nms mk2 13\r\ndelete victim\r\nmg victim v\r\nmn\r\n"),
      b"STORED\r\nHD\r\nVA 1\r\nv\r\nMN\r\n")
check("base64 key", exchange(b"ms YjY0a2V5 2 b\r\nhi\r\nmg b64key v\r\nmg YjY0a2V5 b k v\r\nmn\r\n"),
      b"HD\r\nVA 2\r\nhi\r\nVA 2 kYjY0a2V5 b\r\nhi\r\nMN\r\n")
check("ma vivify", exchange(b"ma hits N0 J10 v\r\nma hits v\r\nma hits MD D3 v\r\nmn\r\n"),
      b"VA 2\r\n10\r\nVA 2\r\n11\r\nVA 1\r\n8\r\nMN\r\n")
reply = exchange(b"mg mk c\r\n", b"\r\n")
cas = int(reply.split()[1][1:])
check("ms C stale", exchange(b"ms mk 1 C%d\r\nx\r\nmn\r\n" % (cas - 1)), b"EX\r\nMN\r\n")
check("ms C", exchange(b"ms mk 3 C%d MA\r\n!!!\r\nmn\r\n" % cas), b"HD\r\nMN\r\n")
check("md", exchange(b"md mk2 q\r\nmg mk2\r\nmn\r\n"), b"EN\r\nMN\r\n")
check("md I then recache token", exchange(b"md hits I\r\nmg hits v\r\nmg hits v\r\nmn\r\n"),
      b"HD\r\nVA 1 X W\r\n8\r\nVA 1 Z X\r\n8\r\nMN\r\n")
check("h: read before, as the master saw it", exchange(b"ms hk 1\r\nx\r\nmg hk h\r\nmg hk h v\r\nmn\r\n"),
      b"HD\r\nHD h0\r\nVA 1 h1\r\nx\r\nMN\r\n")
print("ok")
"""#

    func testClientLibraryAndMetaCommandsThroughAProxy() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else {
            throw ClientError.timeout("/usr/bin/python3 with python3-pymemcache is needed; run scripts/install-deps")
        }
        try startMasterAndSlave()
        // Every node serves writes once the index has confirmed its map.
        for number in [1, 2, 3] {
            XCTAssertTrue(waitUntil(timeout: 10) { (try? cluster.client(number).store("set", "ready-\(number)", "1")) == "STORED" },
                          "node \(number) does not take writes")
        }
        let proxy = cluster.node(3)
        let scriptPath = cluster.root.appendingPathComponent("meta_through_proxy.py").path
        try MetaThroughProxyTests.script.write(toFile: scriptPath, atomically: false, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [scriptPath, proxy.host, String(proxy.port)]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, text)
        XCTAssertEqual(text, "ok\n")

        // The meta writes reached the master and were copied to the slave, same item, same version.
        let master = try cluster.client(1)
        let onMaster = try master.dump()
        XCTAssertEqual(onMaster["mk"]?.value, "hello!!!")
        XCTAssertEqual(onMaster["mk"]?.flags, 3)
        XCTAssertEqual(onMaster["b64key"]?.value, "hi")
        XCTAssertEqual(onMaster["hits"]?.value, "8")
        XCTAssertNil(onMaster["mk2"])
        XCTAssertEqual(onMaster["victim"]?.value, "v")
        let slave = try cluster.client(2)
        XCTAssertTrue(waitUntil(timeout: 5) {
            guard let onSlave = try? slave.dump() else { return false }
            return ["mk", "b64key", "hits", "victim", "counter"].allSatisfy { onSlave[$0] == onMaster[$0] } && onSlave["mk2"] == nil
        }, "the slave does not hold the master's items: \(String(describing: try? slave.dump().filter { !$0.key.hasPrefix("multi-") }))")
        XCTAssertEqual(try cluster.client(3).dumpKey(), [], "a proxy stores nothing")
    }
}
