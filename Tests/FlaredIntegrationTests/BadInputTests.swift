import Foundation
import XCTest

/// Malformed and hostile input: exact error replies, and the connection stays usable (or is closed
/// where memcached closes it). Differences from memcached that are flare's design are noted inline;
/// MemcachedComparisonTests lists every known difference side by side.
final class BadInputTests: FlaredTestCase {
    private var flared: FlaredProcess!
    private var client: RawClient!

    override func setUpWithError() throws {
        try super.setUpWithError()
        flared = try startFlared(["--max-key-length", "16", "--max-value-size", "1024"])
        client = try connect(flared)
    }

    private func assertInSync(file: StaticString = #filePath, line: UInt = #line) throws {
        try exchange(client, "version\r\n", "VERSION flare-1.3.4\r\n", file: file, line: line)
    }

    func testUnknownCommands() throws {
        for request in ["foo\r\n", "\r\n", "GET foo\r\n", "get\tfoo\r\n", "Set k 0 0 1\r\n", "node\r\n", "node role a b c\r\n",
                        "meta\r\n", "shutdown\r\n", "stats foo\r\n", "ping foo\r\n", "get\r\n", "gets\r\n",
                        "verbosity\r\n", "show\r\n", "dump -1\r\n", "kill\r\n", "kill abc\r\n"] {
            try exchange(client, request, "ERROR\r\n")
        }
        try assertInSync()
    }

    func testMalformedNumbersInStorageCommands() throws {
        try exchange(client, "set k 0 0 1\r\nv\r\n", "STORED\r\n")
        // A readable length: the data block is skipped, so it is never run as a command (memcached
        // would answer the block "x" with a second line, ERROR).
        for line in ["set k abc 0 1", "set k -1 0 1", "set k 4294967296 0 1", "set k 0 abc 1", "set k 0 0 1 abc",
                     "set k 0 0 1 noreply extra", "cas k 0 0 1 abc", "add k 1a 0 1"] {
            try exchange(client, "\(line)\r\nx\r\n", "CLIENT_ERROR bad command line format\r\n")
        }
        // A cas without its unique is not a cas command to memcached (ERROR); the block is still skipped.
        try exchange(client, "cas k 0 0 1\r\nx\r\n", "ERROR\r\n")
        try exchange(client, "get k\r\n", "VALUE k 0 1\r\nv\r\nEND\r\n")  // nothing was stored
        // Flags: the largest uint32 is fine.
        try exchange(client, "set k 4294967295 0 1\r\nx\r\n", "STORED\r\n")
        try exchange(client, "get k\r\n", "VALUE k 4294967295 1\r\nx\r\nEND\r\n")
        // No usable length: nothing can be skipped, the line alone is refused.
        for line in ["set k 0 0 -1", "set k 0 0 abc", "set k 0 0 99999999999999999999", "set k 0 0 2147483648",
                     "set k 0 0 9223372036854775807"] {
            try exchange(client, "\(line)\r\n", "CLIENT_ERROR bad command line format\r\n")
            try assertInSync()
        }
        // Too few words: memcached does not recognise the command.
        for line in ["set k 0 0", "set k", "set"] {
            try exchange(client, "\(line)\r\n", "ERROR\r\n")
            try assertInSync()
        }
        try exchange(client, "get k\r\n", "VALUE k 4294967295 1\r\nx\r\nEND\r\n")
    }

    func testMalformedArgumentsOfOtherCommands() throws {
        let cases: [(String, String)] = [
            // As memcached: too few words is ERROR; a bad delete gets the usage hint.
            ("delete\r\n", "ERROR\r\n"),
            ("delete k foo\r\n", "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n"),
            ("incr\r\n", "ERROR\r\n"),
            ("incr k\r\n", "ERROR\r\n"),
            ("incr k abc\r\n", "CLIENT_ERROR invalid numeric delta argument\r\n"),
            ("touch\r\n", "ERROR\r\n"),
            ("touch k\r\n", "ERROR\r\n"),
            ("touch k abc\r\n", "CLIENT_ERROR invalid exptime argument\r\n"),
            ("gat\r\n", "ERROR\r\n"),
            ("gat 100\r\n", "END\r\n"),
            ("gat abc k\r\n", "CLIENT_ERROR invalid exptime argument\r\n"),
            ("flush_all foo\r\n", "CLIENT_ERROR invalid exptime argument\r\n"),
        ]
        for (request, reply) in cases { try exchange(client, request, reply) }
        try assertInSync()
    }

    func testKeyLongerThanMaxKeyLength() throws {
        let max = String(repeating: "k", count: 16)
        let over = String(repeating: "k", count: 17)
        try exchange(client, "set \(max) 0 0 1\r\nx\r\n", "STORED\r\n")
        try exchange(client, "get \(max)\r\n", "VALUE \(max) 0 1\r\nx\r\nEND\r\n")
        try exchange(client, "set \(over) 0 0 1\r\nx\r\n", "CLIENT_ERROR bad command line format\r\n")
        try exchange(client, "get \(over)\r\n", "CLIENT_ERROR bad command line format\r\n")
        try exchange(client, "get \(max) \(over)\r\n", "CLIENT_ERROR bad command line format\r\n")
        try exchange(client, "delete \(over)\r\n", "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n")
        try exchange(client, "incr \(over) 1\r\n", "CLIENT_ERROR bad command line format\r\n")
        try exchange(client, "touch \(over) 1\r\n", "CLIENT_ERROR bad command line format\r\n")
        try exchange(client, "get \(over.prefix(16))\r\n", "VALUE \(max) 0 1\r\nx\r\nEND\r\n")
    }

    func testKeyWithControlCharacter() throws {
        for key in ["k\u{01}y", "k\u{7F}", "\u{1B}[0m"] {
            try exchange(client, "set \(key) 0 0 1\r\nx\r\n", "CLIENT_ERROR bad command line format\r\n")
            try exchange(client, "get \(key)\r\n", "CLIENT_ERROR bad command line format\r\n")
        }
        // A tab is not a separator: it makes the key invalid rather than splitting it.
        try exchange(client, "get a\tb\r\n", "CLIENT_ERROR bad command line format\r\n")
        // Bytes above 0x7F are allowed in keys.
        try exchange(client, "set clé 0 0 1\r\nx\r\n", "STORED\r\n")
        try exchange(client, "get clé\r\n", "VALUE clé 0 1\r\nx\r\nEND\r\n")
    }

    func testValueOverMaxValueSizeIsRefusedAndSkipped() throws {
        let ok = String(repeating: "a", count: 1024)
        let big = String(repeating: "b", count: 1025)
        try exchange(client, "set v 0 0 1024\r\n\(ok)\r\n", "STORED\r\n")
        try exchange(client, "set v 0 0 1025\r\n\(big)\r\n", "SERVER_ERROR object too large for cache\r\n")
        try assertInSync()
        // As memcached: a refused `set` also removes the value it was meant to replace.
        try exchange(client, "get v\r\n", "END\r\n")
        try exchange(client, "set v 0 0 1024\r\n\(ok)\r\n", "STORED\r\n")
        // The refused block may arrive in pieces, after the reply, with the next command right behind it.
        try exchange(client, "set w 0 0 5000\r\n", "SERVER_ERROR object too large for cache\r\n")
        let block = String(repeating: "get v\r\n", count: 5000 / 7) + String(repeating: "z", count: 5000 % 7)
        try client.send(String(block.prefix(2000)))
        usleep(20_000)
        try client.send(String(block.dropFirst(2000)) + "\r\nget w\r\n")
        expectReply(client, "END\r\n")
        try exchange(client, "get v\r\n", "VALUE v 0 1024\r\n\(ok)\r\nEND\r\n")
        // noreply: refused silently, still skipped.
        try exchangeSilently(client, "append v 0 0 2000 noreply\r\n\(String(repeating: "c", count: 2000))\r\n")
        try exchange(client, "get v\r\n", "VALUE v 0 1024\r\n\(ok)\r\nEND\r\n")
    }

    func testBadDataChunk() throws {
        // Longer than declared: the two bytes after the declared length are not CR LF.
        try exchange(client, "set k 0 0 1\r\nxyz\r\n", "CLIENT_ERROR bad data chunk\r\nERROR\r\n")
        try exchange(client, "set k 0 0 3\r\nabcde", "CLIENT_ERROR bad data chunk\r\n")
        try exchange(client, "set k 0 0 3\r\nabc\n\n", "CLIENT_ERROR bad data chunk\r\n")
        try exchange(client, "get k\r\n", "END\r\n")
        // Shorter than declared: the server waits for the rest.
        try client.send("set k 0 0 5\r\nab")
        XCTAssertEqual(Bytes.show(client.receivedWithin(0.2)), Bytes.show([]))
        try exchange(client, "cde\r\n", "STORED\r\n")
        try exchange(client, "get k\r\n", "VALUE k 0 5\r\nabcde\r\nEND\r\n")
    }

    func testLineOfExactly64KiBIsParsedButLongerWithoutNewlineIsRefusedAndClosed() throws {
        // 65536 bytes including the LF: still a line (its key is too long for this daemon).
        let key = String(repeating: "a", count: 65536 - "get \r\n".utf8.count)
        try exchange(client, "get \(key)\r\n", "CLIENT_ERROR bad command line format\r\n")
        try assertInSync()
        try client.send(String(repeating: "x", count: 70000))
        expectClose(client, after: "CLIENT_ERROR line too long\r\n")
    }

    func testLineTooLongArrivingSlowly() throws {
        for _ in 0..<9 {
            try client.send(String(repeating: "y", count: 8000))
            usleep(2000)
        }
        expectClose(client, after: "CLIENT_ERROR line too long\r\n")
    }

    func testBinaryGarbageLines() throws {
        try exchange(client, [0x01, 0x02, 0xFF, 0xFE, 0x20, 0x67, 0x0D, 0x0A], Memcache.bytes("ERROR\r\n"))
        try exchange(client, [0x00, 0x0D, 0x0A], Memcache.bytes("ERROR\r\n"))
        try exchange(client, [0xFF, 0xFE, 0xFD, 0x0A], Memcache.bytes("ERROR\r\n"))
        try exchange(client, Memcache.bytes("get \u{00}\r\n"), Memcache.bytes("CLIENT_ERROR bad command line format\r\n"))
        try assertInSync()
        // Garbage with no newline at all, then a newline: one ERROR.
        var garbage: [UInt8] = []
        var seed: UInt32 = 12345
        for _ in 0..<3000 {
            seed = seed &* 1_103_515_245 &+ 12345
            var b = UInt8(truncatingIfNeeded: seed >> 16)
            if b == 10 || b == 0x80 { b = 0x41 }
            garbage.append(b)
        }
        garbage[0] = 0x41
        try exchange(client, garbage + [10], Memcache.bytes("ERROR\r\n"))
        try assertInSync()
    }

    /// The first byte decides the protocol, once (BinaryClientTests covers the binary side): a
    /// text connection reads a later 0x80 as text, as memcached does.
    func testBinaryMagicByteChoosesTheProtocolOnlyAsTheFirstByte() throws {
        let versionRequest: [UInt8] = [0x80, 0x0B] + [UInt8](repeating: 0, count: 22)
        try client.send(versionRequest)
        let reply = try client.read(count: 29)
        XCTAssertEqual(Array(reply[0..<2]), [0x81, 0x0B], "a binary version response")
        XCTAssertEqual(Array(reply[24...]), Array("1.3.4".utf8))
        let second = try connect(flared)
        try exchange(second, "version\r\n", "VERSION flare-1.3.4\r\n")
        try exchange(second, [0x80, 0x0A] + Array("version\r\n".utf8), Array("ERROR\r\nVERSION flare-1.3.4\r\n".utf8))
    }

    func testQuit() throws {
        // Requests before quit in the same write are answered; nothing after it is.
        try client.send("set q 0 0 1\r\nq\r\nget q\r\nquit\r\nget q\r\n")
        expectClose(client, after: "STORED\r\nVALUE q 0 1\r\nq\r\nEND\r\n")
    }
}

/// memcached says nothing at all, not even an error, to a malformed request ending in `noreply`;
/// otherwise a client pipelining noreply writes takes the error for the reply to its next request.
final class NoreplyErrorTests: FlaredTestCase {
    func testMalformedRequestsEndingInNoreplyAreSilent() throws {
        let client = try connect(try startFlared(["--max-key-length", "16", "--max-value-size", "1024"]))
        try exchange(client, "set k 0 0 1\r\nv\r\n", "STORED\r\n")
        for request in ["incr k abc noreply\r\n", "decr k -1 noreply\r\n", "touch k abc noreply\r\n",
                        "delete k foo noreply\r\n", "flush_all foo noreply\r\n", "set k 0 0 -1 noreply\r\n",
                        "set k abc 0 1 noreply\r\nx\r\n", "cas k 0 0 1 abc noreply\r\nx\r\n",
                        "set \(String(repeating: "k", count: 17)) 0 0 1 noreply\r\nx\r\n",
                        "append k 0 0 2000 noreply\r\n\(String(repeating: "z", count: 2000))\r\n",
                        "set k 0 0 1 noreply\r\nxyz"] {
            try exchangeSilently(client, request)
        }
        try exchange(client, "get k\r\n", "VALUE k 0 1\r\nv\r\nEND\r\n")
        // noreply must be the last word to count, as in memcached.
        try exchange(client, "set k 0 0 1 noreply extra\r\nx\r\n", "CLIENT_ERROR bad command line format\r\n")
        try exchange(client, "incr k abc noreply x\r\n", "CLIENT_ERROR invalid numeric delta argument\r\n")
        // Unknown commands are always answered.
        try exchange(client, "bogus noreply\r\n", "ERROR\r\n")
    }
}
