import Foundation
import XCTest

/// What client libraries do at scale: multi-gets of thousands of keys in one line, and bursts of
/// new connections.
final class ClientScaleTests: FlaredTestCase {
    /// pylibmc's get_multi of 5,000 keys is one `get` line of ~170 KB: every hit comes back.
    func testGetLinesLongerThan64KiB() throws {
        let flared = try startFlared()
        let client = try connect(flared)
        let keys = (0..<5000).map { "multi-key-\($0)-with-some-padding-to-make-it-long" }
        var sets = ""
        for key in keys where key.hasSuffix("0-with-some-padding-to-make-it-long") { sets += Memcache.set(key, key, noreply: true) }
        try exchange(client, sets + "mn\r\n", "MN\r\n")
        let line = keys.joined(separator: " ")
        XCTAssertGreaterThan(line.utf8.count, 128 * 1024)
        for command in ["get", "gets", "gat 0", "gats 0"] {
            try client.send("\(command) \(line)\r\n")
            let reply = String(decoding: try client.read(until: "END\r\n", timeout: 10), as: UTF8.self)
            let hits = reply.components(separatedBy: "\r\n").filter { $0.hasPrefix("VALUE ") }
            XCTAssertEqual(hits.count, 500, command)
            XCTAssertTrue(reply.hasPrefix("VALUE multi-key-0-with"), command)
        }
        // Sent in small pieces, it is the same request.
        try client.sendSlowly(Array("get \(line)\r\n".utf8), chunk: 4096, pauseEvery: 1, pauseMicroseconds: 100)
        let reply = String(decoding: try client.read(until: "END\r\n", timeout: 10), as: UTF8.self)
        XCTAssertEqual(reply.components(separatedBy: "\r\n").filter { $0.hasPrefix("VALUE ") }.count, 500)
        try exchange(client, "version\r\n", "VERSION flare-1.3.4\r\n")
    }

    /// The issue as a user saw it: pylibmc's get_multi of 5,000 keys (one `get` line of ~170 KB).
    func testPylibmcGetMultiOfFiveThousandKeys() throws {
        let flared = try startFlared()
        let scratch = try scratchDirectory()
        try scratch.write("get_multi.py", """
            import sys, pylibmc
            c = pylibmc.Client(["127.0.0.1:%s" % sys.argv[1]])
            keys = ["key-number-%06d-with-padding" % i for i in range(5000)]
            c.set_multi({k: "v" + k for k in keys[::2]})
            got = c.get_multi(keys)
            print(len(got), got.get(keys[4998]))

            """)
        let run = try ToolRun.run("/usr/bin/python3", [scratch.file("get_multi.py"), String(flared.port)], in: scratch.path)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.stdout, "2500 vkey-number-004998-with-padding\n", run.stderr)
    }

    /// The bound: a get line without an end past 8 MiB is refused and the connection closed, as
    /// any other line past 64 KiB.
    func testGetLineBeyondTheBoundIsRefused() throws {
        let flared = try startFlared()
        let client = try connect(flared)
        try client.send("get " + String(repeating: "k ", count: (8 << 20) / 2 + 16))
        expectClose(client, after: "CLIENT_ERROR line too long\r\n", timeout: 20)
    }

    /// 5,000 connections opened at once all get answers promptly: the default listen backlog
    /// (1024) holds the burst while the workers accept. With the original 30 the kernel drops
    /// connection attempts and clients wait for their retransmission (seconds).
    func testBurstOfFiveThousandConnections() throws {
        // Room for them all (the default max-connection is flare's 128).
        let flared = try startFlared(["--max-connection", "6000"])
        let scratch = try scratchDirectory()
        try scratch.write("storm.py", """
            import selectors, socket, sys, time
            port, n = int(sys.argv[1]), int(sys.argv[2])
            start = time.time()
            socks = []
            for _ in range(n):
                s = socket.socket()
                s.setblocking(False)
                try:
                    s.connect(("127.0.0.1", port))
                except BlockingIOError:
                    pass
                socks.append(s)
            selector = selectors.DefaultSelector()
            for s in socks:
                selector.register(s, selectors.EVENT_WRITE)
            pending = n
            while pending:
                events = selector.select(timeout=10)
                if not events:
                    sys.exit("connects stalled: %d of %d pending" % (pending, n))
                for key, _ in events:
                    selector.unregister(key.fileobj)
                    pending -= 1
            for s in socks:
                s.setblocking(True)
                s.settimeout(10)
                s.sendall(b"version\\r\\n")
            for s in socks:
                reply = s.recv(100)
                if not reply.startswith(b"VERSION "):
                    sys.exit("not a VERSION reply: %r" % reply)
            print("%.2f" % (time.time() - start))

            """)
        let run = try ToolRun.run("/usr/bin/python3", [scratch.file("storm.py"), String(flared.port), "5000"],
                                  in: scratch.path, timeout: 60)
        XCTAssertEqual(run.status, 0, run.stdout + run.stderr)
        let seconds = Double(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? .infinity
        print("5,000 connections and a version each: \(seconds) s")
        XCTAssertLessThan(seconds, 5, "a burst of connections stalled (listen backlog too short?)")
    }
}
