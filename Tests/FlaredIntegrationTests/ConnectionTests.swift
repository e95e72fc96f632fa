#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest

/// Several connections: isolation, concurrency, large values, connection limit and idle timeout.
final class ConnectionTests: FlaredTestCase {
    func testClientDisconnectingMidValueAffectsNoOtherClientAndStoresNothing() throws {
        let flared = try startFlared()
        let other = try connect(flared)
        try exchange(other, "set before 0 0 2\r\nok\r\n", "STORED\r\n")

        let quitter = try connect(flared)
        try quitter.send("set half 0 0 100\r\n" + String(repeating: "h", count: 50))
        // The other client works while the value is half sent, including on the same key.
        try exchange(other, "get half before\r\n", "VALUE before 0 2\r\nok\r\nEND\r\n")
        try quitter.send(String(repeating: "h", count: 20))
        quitter.close()
        try exchange(other, "set during 0 0 3\r\nyes\r\n", "STORED\r\n")
        // Wait until the server has seen the close (it shows in curr_connections), then check.
        XCTAssertTrue(try eventually { try statValue(other, "curr_connections") == 1 }, "the server never noticed the close")
        try exchange(other, "get half\r\n", "END\r\n")
        try exchange(other, "get before during\r\n", "VALUE before 0 2\r\nok\r\nVALUE during 0 3\r\nyes\r\nEND\r\n")

        // Same again with the key written completely by the other client meanwhile.
        let second = try connect(flared)
        try second.send("set shared 0 0 10\r\n12345")
        try exchange(other, "set shared 0 0 5\r\nwhole\r\n", "STORED\r\n")
        second.close()
        XCTAssertTrue(try eventually { try statValue(other, "curr_connections") == 1 })
        try exchange(other, "get shared\r\n", "VALUE shared 0 5\r\nwhole\r\nEND\r\n")
        // A fresh connection starts clean (no half request left over anywhere).
        let fresh = try connect(flared)
        try exchange(fresh, "get shared half\r\n", "VALUE shared 0 5\r\nwhole\r\nEND\r\n")
    }

    func testTwentyConcurrentClientsWithDistinctKeys() throws {
        let flared = try startFlared()
        let clients = 20
        let perClient = 60
        let failures = FailureLog()
        let group = DispatchGroup()
        for c in 0..<clients {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                do {
                    let client = try flared.client()
                    defer { client.close() }
                    for i in 0..<perClient {
                        let key = "c\(c):k\(i)"
                        let value = "client \(c) item \(i) " + String(repeating: "x", count: (c * 7 + i) % 50)
                        try client.send(Memcache.set(key, value, flags: UInt32(c * 1000 + i)))
                        let stored = client.read(matching: Memcache.bytes("STORED\r\n"))
                        if stored != Memcache.bytes("STORED\r\n") { failures.add("\(key): set got \(Bytes.show(stored))"); return }
                        // Read back an earlier key of this client too.
                        let earlier = i / 2
                        let earlierKey = "c\(c):k\(earlier)"
                        let earlierValue = "client \(c) item \(earlier) " + String(repeating: "x", count: (c * 7 + earlier) % 50)
                        try client.send("get \(key) \(earlierKey)\r\n")
                        let expected = Memcache.value(key, value, flags: UInt32(c * 1000 + i)) +
                            Memcache.value(earlierKey, earlierValue, flags: UInt32(c * 1000 + earlier)) + "END\r\n"
                        let got = client.read(matching: Memcache.bytes(expected))
                        if got != Memcache.bytes(expected) { failures.add("\(key): get got \(Bytes.show(got))"); return }
                    }
                } catch {
                    failures.add("client \(c): \(error)")
                }
            }
            thread.start()
        }
        XCTAssertEqual(group.wait(timeout: .now() + 60), .success, "clients did not finish within 60 s")
        XCTAssertEqual(failures.all, [])
        // Everything is there, seen from a fresh connection.
        let check = try connect(flared)
        for c in 0..<clients {
            var request = "get"
            var expected = ""
            for i in 0..<perClient {
                let key = "c\(c):k\(i)"
                request += " \(key)"
                expected += Memcache.value(key, "client \(c) item \(i) " + String(repeating: "x", count: (c * 7 + i) % 50), flags: UInt32(c * 1000 + i))
            }
            try exchange(check, request + "\r\n", expected + "END\r\n")
        }
        XCTAssertEqual(try statValue(check, "curr_items"), UInt64(clients * perClient))
    }

    func testFiveMebibyteValueRoundTrip() throws {
        let flared = try startFlared()
        let client = try connect(flared)
        let size = 5 << 20
        var value = [UInt8](repeating: 0, count: size)
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        for i in 0..<size {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            value[i] = UInt8(truncatingIfNeeded: seed >> 33)
        }
        let request = Memcache.bytes("set big 42 0 \(size)\r\n") + value + Memcache.bytes("\r\n")
        let writer = BackgroundWriter(client: client, bytes: request)
        expectReply(client, "STORED\r\n", timeout: 30)
        XCTAssertNil(writer.wait())
        try exchange(client, Memcache.bytes("get big\r\n"),
                     Memcache.bytes("VALUE big 42 \(size)\r\n") + value + Memcache.bytes("\r\nEND\r\n"), timeout: 30)
        // And a second client reads it too, while the first appends to it.
        let reader = try connect(flared)
        try exchange(client, "append big 0 0 3\r\nEND\r\n", "STORED\r\n")
        try exchange(reader, Memcache.bytes("get big\r\n"),
                     Memcache.bytes("VALUE big 42 \(size + 3)\r\n") + value + Memcache.bytes("END\r\nEND\r\n"), timeout: 30)
    }

    func testMaxConnectionRefusesTheFourthAndFreesASlotOnClose() throws {
        let flared = try startFlared(["--max-connection", "3"])
        var open: [RawClient] = []
        for i in 0..<3 {
            let client = i == 0 ? try connectFirst(flared) : try connect(flared)
            try exchange(client, "version\r\n", "VERSION flare-1.3.4\r\n")
            open.append(client)
        }
        let fourth = try connect(flared)
        expectClose(fourth, after: "SERVER_ERROR too many open connections\r\n")
        // The three are unaffected.
        for client in open { try exchange(client, "ping\r\n", "OK\r\n") }
        // Closing one frees a slot (as soon as the server has processed the close).
        open[0].close()
        var accepted: RawClient?
        let freed = try eventually(timeout: 5) {
            let candidate = try connect(flared)
            try candidate.send("version\r\n")
            let reply = candidate.readAvailable(quiet: 0.1, limit: 2)
            if reply == Memcache.bytes("VERSION flare-1.3.4\r\n") { accepted = candidate; return true }
            XCTAssertEqual(Bytes.show(reply), Bytes.show("SERVER_ERROR too many open connections\r\n"))
            return false
        }
        XCTAssertTrue(freed, "no connection accepted within 5 s after one of three closed")
        if let accepted { try exchange(accepted, "get x\r\n", "END\r\n") }
        let fifth = try connect(flared)
        expectClose(fifth, after: "SERVER_ERROR too many open connections\r\n")
    }

    func testIdleConnectionIsClosedAfterNetReadTimeout() throws {
        let flared = try startFlared(["--net-read-timeout", "1"])
        let setup = try connect(flared)
        for i in 0..<12 { try exchange(setup, Memcache.set("d:\(i)", "v"), "STORED\r\n") }
        let idle = try connect(flared)
        let busy = try connect(flared)
        let half = try connect(flared)
        let dumper = try connect(flared)
        try exchange(idle, "version\r\n", "VERSION flare-1.3.4\r\n")
        // A request stopped half way is idle too; a client receiving a slow dump (12 × 150 ms) is not.
        try half.send("set half 0 0 10\r\nabc")
        try dumper.send("dump 150000\r\n")
        let start = Clock.now()
        var idleClosedAt: Double?
        var halfClosedAt: Double?
        // A client that keeps talking (every ~0.1 s) is not idle. On a starved machine the gap
        // between two of its requests can still exceed the timeout, so its survival is only
        // checked when the gaps stayed well below it.
        var lastPing = Clock.now()
        var longestGap = 0.0
        var busyClosed = false
        while Clock.now() - start < 5 && (idleClosedAt == nil || halfClosedAt == nil) {
            longestGap = max(longestGap, Clock.now() - lastPing)
            lastPing = Clock.now()
            if !busyClosed {
                try busy.send("ping\r\n")
                let pong = busy.read(matching: Memcache.bytes("OK\r\n"))
                if pong != Memcache.bytes("OK\r\n") { busyClosed = true }
            }
            if idleClosedAt == nil, idle.waitForClose(timeout: 0.05) != nil { idleClosedAt = Clock.now() }
            if halfClosedAt == nil, half.waitForClose(timeout: 0.05) != nil { halfClosedAt = Clock.now() }
        }
        if busyClosed && longestGap < 0.8 {
            XCTFail("a client sending a request every \(longestGap) s at most was closed as idle")
        }
        for (name, closedAt) in [("idle", idleClosedAt), ("half-sent", halfClosedAt)] {
            guard let closedAt else {
                XCTFail("\(name) connection still open \(Clock.now() - start) s after its last request")
                continue
            }
            XCTAssertGreaterThanOrEqual(closedAt - start, 0.7, "\(name) closed too early")
            XCTAssertLessThanOrEqual(closedAt - start, 4, "\(name) closed too late")
        }
        // The dump arrived whole although its client sent nothing for longer than the timeout.
        let dump = try dumper.read(until: "\r\nEND\r\n", timeout: 5)
        XCTAssertEqual(Bytes.count("VALUE d:", in: dump), 12, Bytes.show(dump))
        XCTAssertGreaterThan(Clock.now() - start, 1.5, "the dump should have paced itself")
        let check = try connect(flared)
        try exchange(check, "get half\r\n", "END\r\n")
    }
}

/// Thread-safe list of failure messages collected by worker threads.
final class FailureLog: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [String] = []

    func add(_ message: String) {
        lock.lock()
        messages.append(message)
        lock.unlock()
    }

    var all: [String] {
        lock.lock()
        defer { lock.unlock() }
        return messages
    }
}
