import Foundation
import XCTest

/// memcached data commands against a real flared, byte for byte. CAS uniques are flare's per-item
/// versions: 1 for a new item, +1 for every modification (so they are predictable, unlike memcached's).
final class DataCommandTests: FlaredTestCase {
    private var client: RawClient!

    override func setUpWithError() throws {
        try super.setUpWithError()
        client = try connect(try startFlared())
    }

    func testSetGetAndMultiGetWithDuplicatesAndMisses() throws {
        try exchange(client, "set foo 0 0 3\r\nbar\r\n", "STORED\r\n")
        try exchange(client, "get foo\r\n", "VALUE foo 0 3\r\nbar\r\nEND\r\n")
        try exchange(client, "set foo 123 0 4\r\nbaz!\r\n", "STORED\r\n")
        try exchange(client, "get foo\r\n", "VALUE foo 123 4\r\nbaz!\r\nEND\r\n")
        try exchange(client, "get nosuchkey\r\n", "END\r\n")
        try exchange(client, "set k2 4294967295 0 2\r\nv2\r\n", "STORED\r\n")
        try exchange(client, "get foo nosuchkey foo k2 other k2\r\n",
                     "VALUE foo 123 4\r\nbaz!\r\nVALUE foo 123 4\r\nbaz!\r\nVALUE k2 4294967295 2\r\nv2\r\nVALUE k2 4294967295 2\r\nv2\r\nEND\r\n")
        try exchange(client, "get a b c\r\n", "END\r\n")
        // Every write takes a new node-wide unique: two keys never share one.
        let foo = try casUnique(client, "foo", flags: 123, value: "baz!")
        let k2 = try casUnique(client, "k2", flags: 4294967295, value: "v2")
        XCTAssertGreaterThan(k2, foo, "k2 was written after foo")
        try exchange(client, "gets foo foo k2\r\n",
                     Memcache.value("foo", "baz!", flags: 123, cas: foo) + Memcache.value("foo", "baz!", flags: 123, cas: foo) +
                        Memcache.value("k2", "v2", flags: 4294967295, cas: k2) + "END\r\n")
        // An empty value, and a value holding CR LF, NUL and high bytes (the length rules, not the content).
        try exchange(client, "set empty 7 0 0\r\n\r\n", "STORED\r\n")
        try exchange(client, "get empty\r\n", "VALUE empty 7 0\r\n\r\nEND\r\n")
        let binary: [UInt8] = [0x0D, 0x0A, 0x00, 0xFF, 0x80, 0x45, 0x4E, 0x44, 0x0D, 0x0A]
        try exchange(client, Memcache.bytes("set bin 0 0 10\r\n") + binary + [13, 10], Memcache.bytes("STORED\r\n"))
        try exchange(client, Memcache.bytes("get bin\r\n"), Memcache.bytes("VALUE bin 0 10\r\n") + binary + Memcache.bytes("\r\nEND\r\n"))
    }

    func testLineEndingsAndSpaces() throws {
        // A bare LF ends a line; runs of spaces separate tokens; leading and trailing spaces are ignored.
        try exchange(client, "set lf 0 0 2\nab\r\n", "STORED\r\n")
        try exchange(client, "get lf\n", "VALUE lf 0 2\r\nab\r\nEND\r\n")
        try exchange(client, "get  lf   lf\r\n", "VALUE lf 0 2\r\nab\r\nVALUE lf 0 2\r\nab\r\nEND\r\n")
        try exchange(client, "get lf \r\n", "VALUE lf 0 2\r\nab\r\nEND\r\n")
        try exchange(client, "  get lf\r\n", "VALUE lf 0 2\r\nab\r\nEND\r\n")
    }

    func testAddAndReplace() throws {
        try exchange(client, "set foo 0 0 1\r\na\r\n", "STORED\r\n")
        try exchange(client, "add foo 0 0 1\r\nx\r\n", "NOT_STORED\r\n")
        try exchange(client, "add newkey 1 0 2\r\nab\r\n", "STORED\r\n")
        try exchange(client, "get newkey\r\n", "VALUE newkey 1 2\r\nab\r\nEND\r\n")
        let added = try casUnique(client, "newkey", flags: 1, value: "ab")
        try exchange(client, "replace nokey 0 0 1\r\nx\r\n", "NOT_STORED\r\n")
        try exchange(client, "get nokey\r\n", "END\r\n")
        try exchange(client, "replace newkey 2 0 3\r\nabc\r\n", "STORED\r\n")
        XCTAssertGreaterThan(try casUnique(client, "newkey", flags: 2, value: "abc"), added)
    }

    func testAppendAndPrependKeepFlags() throws {
        try exchange(client, "set ap 7 0 3\r\nmid\r\n", "STORED\r\n")
        let set = try casUnique(client, "ap", flags: 7, value: "mid")
        try exchange(client, "append ap 9 0 2\r\nYZ\r\n", "STORED\r\n")
        let appended = try casUnique(client, "ap", flags: 7, value: "midYZ")
        try exchange(client, "prepend ap 3 0 2\r\n01\r\n", "STORED\r\n")
        let prepended = try casUnique(client, "ap", flags: 7, value: "01midYZ")
        XCTAssertLessThan(set, appended)
        XCTAssertLessThan(appended, prepended)
        try exchange(client, "append nokey 0 0 1\r\nx\r\n", "NOT_STORED\r\n")
        try exchange(client, "prepend nokey 0 0 1\r\nx\r\n", "NOT_STORED\r\n")
        try exchange(client, "get nokey\r\n", "END\r\n")
    }

    func testGetsAndCasFlow() throws {
        try exchange(client, "cas nokey 0 0 1 1\r\nx\r\n", "NOT_FOUND\r\n")
        try exchange(client, "get nokey\r\n", "END\r\n")
        try exchange(client, "set c 5 0 3\r\none\r\n", "STORED\r\n")
        let one = try casUnique(client, "c", flags: 5, value: "one")
        try exchange(client, "cas c 6 0 3 \(one + 1)\r\nbad\r\n", "EXISTS\r\n")
        try exchange(client, "cas c 6 0 3 0\r\nbad\r\n", "EXISTS\r\n")
        try exchange(client, "gets c\r\n", Memcache.value("c", "one", flags: 5, cas: one) + "END\r\n")
        try exchange(client, "cas c 6 0 3 \(one)\r\ntwo\r\n", "STORED\r\n")
        let two = try casUnique(client, "c", flags: 6, value: "two")
        XCTAssertGreaterThan(two, one)
        // The old unique is stale now.
        try exchange(client, "cas c 7 0 5 \(one)\r\nthree\r\n", "EXISTS\r\n")
        try exchangeSilently(client, "cas c 8 0 2 \(two) noreply\r\nnr\r\n")
        let nr = try casUnique(client, "c", flags: 8, value: "nr")
        XCTAssertGreaterThan(nr, two)
        // Any modification moves the unique on.
        try exchange(client, "append c 0 0 1\r\n!\r\n", "STORED\r\n")
        try exchange(client, "cas c 0 0 1 \(nr)\r\nx\r\n", "EXISTS\r\n")
        let appended = try casUnique(client, "c", flags: 8, value: "nr!")
        try exchange(client, "cas c 0 0 1 \(appended)\r\nx\r\n", "STORED\r\n")
        let last = try casUnique(client, "c", value: "x")
        try exchange(client, "delete c\r\n", "DELETED\r\n")
        try exchange(client, "cas c 0 0 1 \(last)\r\ny\r\n", "NOT_FOUND\r\n")
    }

    /// Uniques are node-wide and never restart: not after a delete, not after flush_all.
    func testCasUniqueFromBeforeDeleteOrFlushAllNeverMatchesAgain() throws {
        try exchange(client, "set f 0 0 1\r\na\r\n", "STORED\r\n")
        let before = try casUnique(client, "f", value: "a")
        try exchange(client, "flush_all\r\n", "OK\r\n")
        try exchange(client, "cas f 0 0 1 \(before)\r\nb\r\n", "NOT_FOUND\r\n")
        try exchange(client, "set f 0 0 1\r\nc\r\n", "STORED\r\n")
        XCTAssertGreaterThan(try casUnique(client, "f", value: "c"), before)
        try exchange(client, "cas f 0 0 1 \(before)\r\nb\r\n", "EXISTS\r\n")
        let c = try casUnique(client, "f", value: "c")
        try exchange(client, "delete f\r\n", "DELETED\r\n")
        try exchange(client, "set f 0 0 1\r\nd\r\n", "STORED\r\n")
        try exchange(client, "cas f 0 0 1 \(c)\r\nb\r\n", "EXISTS\r\n")
        try exchange(client, "get f\r\n", "VALUE f 0 1\r\nd\r\nEND\r\n")
    }

    func testDelete() throws {
        try exchange(client, "set d 0 0 1\r\n1\r\n", "STORED\r\n")
        try exchange(client, "delete d\r\n", "DELETED\r\n")
        try exchange(client, "delete d\r\n", "NOT_FOUND\r\n")
        try exchange(client, "get d\r\n", "END\r\n")
        try exchange(client, "set d 0 0 1\r\n1\r\n", "STORED\r\n")
        try exchange(client, "delete d 0\r\n", "DELETED\r\n")
        try exchange(client, "add d 0 0 1\r\n2\r\n", "STORED\r\n")
        try exchange(client, "get d\r\n", "VALUE d 0 1\r\n2\r\nEND\r\n")
    }

    /// flare's extension: `delete <key> <time>` holds the key for `time` seconds, during which add
    /// (but not set) is refused; versions keep growing across deletes.
    func testDeleteWithHoldTimeAndVersionContinuity() throws {
        try exchange(client, "set dv 0 0 1\r\na\r\n", "STORED\r\n")
        let a = try casUnique(client, "dv", value: "a")
        try exchange(client, "delete dv 5\r\n", "DELETED\r\n")
        try exchange(client, "get dv\r\n", "END\r\n")
        try exchange(client, "add dv 0 0 1\r\nb\r\n", "NOT_STORED\r\n")
        try exchange(client, "set dv 0 0 1\r\nc\r\n", "STORED\r\n")
        let c = try casUnique(client, "dv", value: "c")
        XCTAssertGreaterThan(c, a)
        try exchange(client, "delete dv\r\n", "DELETED\r\n")
        try exchange(client, "add dv 0 0 1\r\nd\r\n", "STORED\r\n")
        XCTAssertGreaterThan(try casUnique(client, "dv", value: "d"), c)
        try exchange(client, "delete nokey 5\r\n", "NOT_FOUND\r\n")
    }

    func testIncrDecrEdgeCases() throws {
        try exchange(client, "set n 5 0 2\r\n10\r\n", "STORED\r\n")
        try exchange(client, "incr n 5\r\n", "15\r\n")
        try exchange(client, "decr n 3\r\n", "12\r\n")
        try exchange(client, "get n\r\n", "VALUE n 5 2\r\n12\r\nEND\r\n")  // flags kept
        // decr saturates at 0.
        try exchange(client, "decr n 100\r\n", "0\r\n")
        try exchange(client, "decr n 1\r\n", "0\r\n")
        try exchange(client, "incr n 18446744073709551615\r\n", "18446744073709551615\r\n")
        // incr wraps at 2^64.
        try exchange(client, "incr n 1\r\n", "0\r\n")
        try exchange(client, "set n 0 0 20\r\n18446744073709551615\r\n", "STORED\r\n")
        try exchange(client, "incr n 2\r\n", "1\r\n")
        // A shorter result shortens the value (flare keeps no padding; memcached may pad with spaces,
        // which its protocol.txt leaves to the implementation).
        try exchange(client, "set ln 0 0 3\r\n100\r\n", "STORED\r\n")
        try exchange(client, "decr ln 1\r\n", "99\r\n")
        try exchange(client, "get ln\r\n", "VALUE ln 0 2\r\n99\r\nEND\r\n")
        try exchange(client, "incr ln 901\r\n", "1000\r\n")
        try exchange(client, "get ln\r\n", "VALUE ln 0 4\r\n1000\r\nEND\r\n")
        // Missing items.
        try exchange(client, "incr nokey 1\r\n", "NOT_FOUND\r\n")
        try exchange(client, "decr nokey 1\r\n", "NOT_FOUND\r\n")
        // Values that are not a decimal uint64.
        for value in ["abc", "-1", "1234567890123456789012345", "18446744073709551616"] {
            try exchange(client, "set s 0 0 \(value.utf8.count)\r\n\(value)\r\n", "STORED\r\n")
            try exchange(client, "incr s 1\r\n", "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n")
            try exchange(client, "decr s 1\r\n", "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n")
        }
        // Trailing spaces after the digits are accepted (strtoull), as memcached does.
        try exchange(client, "set sp 0 0 3\r\n12 \r\n", "STORED\r\n")
        try exchange(client, "incr sp 1\r\n", "13\r\n")
        // Bad deltas.
        for delta in ["-1", "abc", "2a", "18446744073709551616"] {
            try exchange(client, "incr n \(delta)\r\n", "CLIENT_ERROR invalid numeric delta argument\r\n")
            try exchange(client, "decr n \(delta)\r\n", "CLIENT_ERROR invalid numeric delta argument\r\n")
        }
        try exchange(client, "get n\r\n", "VALUE n 0 1\r\n1\r\nEND\r\n")
    }

    func testTouchGatAndGats() throws {
        try exchange(client, "set t 3 0 1\r\nt\r\n", "STORED\r\n")
        try exchange(client, "touch t 100\r\n", "TOUCHED\r\n")
        try exchange(client, "touch nokey 100\r\n", "NOT_FOUND\r\n")
        try exchange(client, "touch t abc\r\n", "CLIENT_ERROR invalid exptime argument\r\n")
        // memcached syntax: gat <exptime> <key>...; hits like get, then END.
        try exchange(client, "gat 100 t\r\n", "VALUE t 3 1\r\nt\r\nEND\r\n")
        try exchange(client, "gat 100 t nokey t\r\n", "VALUE t 3 1\r\nt\r\nVALUE t 3 1\r\nt\r\nEND\r\n")
        try exchange(client, "gat 100 nokey\r\n", "END\r\n")
        // gats returns the new unique: a touch is a write that replication must order.
        let touched = try casUnique(client, "t", flags: 3, value: "t")
        let gats = try casUnique(client, "t", flags: 3, value: "t", command: "gats 100")
        XCTAssertGreaterThan(gats, touched)
        XCTAssertEqual(try casUnique(client, "t", flags: 3, value: "t"), gats)
        try client.send("gats 0 t nokey\r\n")
        let reply = String(decoding: try client.read(until: "END\r\n"), as: UTF8.self)
        XCTAssertTrue(reply.hasPrefix("VALUE t 3 1 ") && reply.hasSuffix("\r\nt\r\nEND\r\n"), Bytes.show(reply))
        XCTAssertEqual(try casUnique(client, "t", flags: 3, value: "t"), UInt64(reply.dropFirst(12).prefix { $0.isNumber }))
        try exchange(client, "gat abc t\r\n", "CLIENT_ERROR invalid exptime argument\r\n")
        // Touching with a negative exptime expires the item.
        try exchange(client, "touch t -1\r\n", "TOUCHED\r\n")
        try exchange(client, "get t\r\n", "END\r\n")
        try exchange(client, "set g 0 0 1\r\ng\r\n", "STORED\r\n")
        try exchange(client, "gat -1 g\r\n", "VALUE g 0 1\r\ng\r\nEND\r\n")
        try exchange(client, "get g\r\n", "END\r\n")
        try exchange(client, "gat 100 g\r\n", "END\r\n")
    }

    func testNoreplyVariantsSendNothingAndStayInSync() throws {
        try exchangeSilently(client, "set nr 0 0 1 noreply\r\n1\r\n")
        try exchangeSilently(client, "add nr 0 0 1 noreply\r\n9\r\n")       // NOT_STORED, silently
        try exchangeSilently(client, "replace nr 0 0 1 noreply\r\n2\r\n")
        try exchangeSilently(client, "append nr 0 0 1 noreply\r\n3\r\n")
        try exchangeSilently(client, "prepend nr 0 0 1 noreply\r\n0\r\n")
        try exchange(client, "get nr\r\n", "VALUE nr 0 3\r\n023\r\nEND\r\n")
        try exchangeSilently(client, "incr nr 10 noreply\r\n")
        try exchangeSilently(client, "decr nr 1 noreply\r\n")
        try exchange(client, "get nr\r\n", "VALUE nr 0 2\r\n32\r\nEND\r\n")
        try exchangeSilently(client, "incr nokey 1 noreply\r\n")
        try exchangeSilently(client, "touch nr 100 noreply\r\n")
        try exchangeSilently(client, "touch nokey 100 noreply\r\n")
        try exchangeSilently(client, "cas nr 0 0 1 999 noreply\r\nx\r\n")  // EXISTS, silently
        let unique = try casUnique(client, "nr", value: "32")
        try exchangeSilently(client, "cas nr 0 0 1 \(unique) noreply\r\nx\r\n")
        try exchange(client, "get nr\r\n", "VALUE nr 0 1\r\nx\r\nEND\r\n")
        try exchangeSilently(client, "set s 0 0 1 noreply\r\ns\r\n")
        try exchangeSilently(client, "incr s 1 noreply\r\n")  // non-numeric: the error is suppressed too
        try exchangeSilently(client, "delete nr noreply\r\n")
        try exchangeSilently(client, "delete nr noreply\r\n")
        try exchange(client, "get nr\r\n", "END\r\n")
        try exchangeSilently(client, "verbosity 1 noreply\r\n")
        try exchangeSilently(client, "flush_all noreply\r\n")
        try exchangeSilently(client, "flush_all 0 noreply\r\n")
        try exchange(client, "get s\r\n", "END\r\n")
        // A bad data chunk under noreply is silent as well; its last two bytes form an empty line.
        try client.send("set k 0 0 1 noreply\r\nxyz\r\n")
        expectReply(client, "ERROR\r\n")
        try exchange(client, "get k\r\n", "END\r\n")
    }

    func testExpiryRelativeAbsoluteAndNegative() throws {
        try exchange(client, "set e1 0 1 1\r\na\r\n", "STORED\r\n")
        try exchange(client, "set keep 0 100 1\r\nk\r\n", "STORED\r\n")
        try exchange(client, "get keep\r\n", "VALUE keep 0 1\r\nk\r\nEND\r\n")
        // An absolute time in the past, and a negative exptime: expired at once.
        try exchange(client, "set e2 0 1000000000 1\r\nb\r\n", "STORED\r\n")
        try exchange(client, "get e2\r\n", "END\r\n")
        try exchange(client, "set e3 0 -1 1\r\nc\r\n", "STORED\r\n")
        try exchange(client, "get e3\r\n", "END\r\n")
        try exchange(client, "add e3 0 0 1\r\nd\r\n", "STORED\r\n")  // expired items do not block add
        try exchange(client, "get e3\r\n", "VALUE e3 0 1\r\nd\r\nEND\r\n")
        // An absolute time in the future behaves like a relative one.
        let future = Int(Date().timeIntervalSince1970) + 3600
        try exchange(client, "set e4 0 \(future) 1\r\nf\r\n", "STORED\r\n")
        try exchange(client, "get e4\r\n", "VALUE e4 0 1\r\nf\r\nEND\r\n")
        // Relative 1 s: gone within the server clock's resolution (≤ 2 s), checked by polling.
        let start = Clock.now()
        var gone = false
        while Clock.now() - start < 5 {
            try client.send("get e1\r\n")
            let reply = try client.read(until: "END\r\n")
            if reply == Memcache.bytes("END\r\n") { gone = true; break }
            XCTAssertEqual(Bytes.show(reply), Bytes.show("VALUE e1 0 1\r\na\r\nEND\r\n"))
            usleep(100_000)
        }
        XCTAssertTrue(gone, "an item with exptime 1 must expire within 5 s (2 s plus slack for a loaded machine)")
        try exchange(client, "gets e1\r\n", "END\r\n")
        try exchange(client, "touch e1 100\r\n", "NOT_FOUND\r\n")
        try exchange(client, "incr e1 1\r\n", "NOT_FOUND\r\n")
        try exchange(client, "get keep e4\r\n", "VALUE keep 0 1\r\nk\r\nVALUE e4 0 1\r\nf\r\nEND\r\n")
    }

    func testFlushAllImmediateAndDelayed() throws {
        try exchange(client, "set f1 0 0 1\r\n1\r\nset f2 0 0 1\r\n2\r\n", "STORED\r\nSTORED\r\n")
        try exchange(client, "flush_all\r\n", "OK\r\n")
        try exchange(client, "get f1 f2\r\n", "END\r\n")
        try exchange(client, "set f1 0 0 1\r\n1\r\n", "STORED\r\n")
        try exchange(client, "flush_all 0\r\n", "OK\r\n")
        try exchange(client, "get f1\r\n", "END\r\n")
        // Delayed: still there right after the command, gone after the delay.
        try exchange(client, "set f1 0 0 1\r\n1\r\n", "STORED\r\n")
        try exchange(client, "flush_all 1\r\n", "OK\r\n")
        try exchange(client, "get f1\r\n", "VALUE f1 0 1\r\n1\r\nEND\r\n")
        let flushed = try eventually(timeout: 5) {
            try client.send("get f1\r\n")
            return try client.read(until: "END\r\n") == Memcache.bytes("END\r\n")
        }
        XCTAssertTrue(flushed, "flush_all 1 must empty the store within 5 s")
        try exchange(client, "set f3 0 0 1\r\n3\r\n", "STORED\r\n")
        try exchange(client, "get f3\r\n", "VALUE f3 0 1\r\n3\r\nEND\r\n")
    }
}
