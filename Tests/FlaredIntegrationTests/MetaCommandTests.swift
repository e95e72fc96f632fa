import Foundation
import XCTest

/// memcached 1.6's meta commands, sent to flared and to Debian's memcached 1.6.18 alike: the
/// replies must be the same bytes once cas uniques are set aside (flared's are node-wide versions,
/// memcached's a counter), except for the differences listed with their reason.
final class MetaCommandTests: FlaredTestCase {
    static let scenarios: [(String, [String])] = [
        ("mg and ms", [
            "ms foo 2\r\nhi\r\n", "mg foo s v t f c k O123 q\r\n", "mg foo\r\n", "mg foo q\r\n", "mg foo k q\r\n",
            "mg missing v\r\n", "mg missing v q\r\nmn\r\n", "mg nokey O1 k v c s t f\r\n",
            "ms foo 2 T100 F5 q\r\nhi\r\n", "mg foo t f v\r\n", "ms foo 2 MA\r\nxx\r\n", "mg foo v\r\n",
            "ms foo 2 MP c k\r\n<<\r\n", "mg foo v\r\n", "ms nope 2 MA q\r\nxx\r\nmn\r\n", "ms nope 2 MR\r\nxx\r\n",
            "ms new 1 ME\r\nx\r\n", "ms new 1 ME\r\nx\r\n", "ms new 1 MS q\r\ny\r\nmn\r\n", "mg new v\r\n",
            "ms foo 2 C1\r\nzz\r\n", "ms foo 2 C1 MA\r\nzz\r\n", "ms nokey 2 C1\r\nzz\r\n", "ms foo 2 c\r\nyy\r\n",
            "ms empty 0\r\n\r\n", "mg empty v s\r\n", "mg foo T-1 v\r\n", "mg foo v\r\n", "ms t 1 T100\r\nx\r\n",
            "mg t T200 t\r\n", "mg t t T300\r\n", "mg t t\r\n", "ms c 1 T100\r\n1\r\n", "ma c t T30\r\n", "mg c t\r\n",
        ]),
        ("base64 keys", [
            "ms Zm9v 2 b k c O1\r\nhi\r\n", "mg Zm9v b k v\r\n", "mg foo v\r\n", "mg foo k b\r\n", "mg !!! b\r\n",
            "md Zm9v b k\r\n", "mg foo v\r\n",
        ]),
        ("md", [
            "md gone\r\n", "md gone q\r\nmn\r\n", "ms d 1\r\nx\r\n", "md d q\r\nmn\r\n", "mg d\r\n", "ms d 1\r\nx\r\n",
            "md d C1 O9 k\r\n", "md d C1 q\r\n", "md d v\r\n", "md d\r\n", "md Y250 O1 k b\r\n",
        ]),
        ("ma", [
            "ma n\r\n", "ma n N0 J5 v\r\n", "ma n q\r\nmn\r\n", "ma n MD D100 v t\r\n", "ma n D7 v\r\n", "ma n MI\r\n",
            "ma n M+ v\r\n", "ma n M- v\r\n", "ma n Mi\r\n", "ma n Md\r\n", "ma n MD v\r\n", "ma n C1 v\r\n",
            "ma none O1 k t v D5\r\n", "ma none O1 k v D5 q\r\n", "ma none O1 k t v N0 J7\r\n", "ma cnt q\r\nmn\r\n",
            "ma cnt N0 q\r\nmn\r\n", "ma cnt\r\n", "set s 0 0 1\r\nx\r\n", "ma s\r\n", "ma n T9 t\r\n", "mg n t\r\n",
            "ma n D18446744073709551615 v\r\n", "ma n D18446744073709551616\r\n", "ma n Mx\r\n",
        ]),
        ("stale and recache", [
            "ms foo 2\r\nyy\r\n", "md foo I T30\r\n", "mg foo v t\r\n", "mg foo v t\r\n", "ms foo 2 I C1\r\nnn\r\n",
            "mg foo v\r\n", "ms foo 2\r\nok\r\n", "mg foo v\r\n", "md nokey I\r\n",
            "mg viv N30 v t s f\r\n", "mg viv N30 v t\r\n", "mg viv v\r\n", "mg viv2 N30 q\r\n", "mg viv2 q\r\nmn\r\n",
            "ms t 1 T0\r\nx\r\n", "mg t R30 v t\r\n", "ms s 1 T100\r\nx\r\n", "mg s R30 t\r\n", "mg s R300 t\r\n",
            "mg s R300 t\r\n",
            // T and N take effect where they stand among the flags; R looks at the TTL there.
            "ma z1 N50 t\r\n", "mg z1 t\r\n", "ma z2 t N50\r\n", "mg z2 t\r\n", "mg z4 t N50\r\n", "mg z4 t\r\n",
            "ms r 1\r\nx\r\n", "mg r R30 T-1\r\n", "ms r2 1\r\nx\r\n", "mg r2 T10 R30 c\r\n", "mg r2\r\n",
            // A counter changed in place, and a touched item, keep their marks.
            "ms sc 2\r\n10\r\n", "md sc I\r\n", "incr sc 1\r\n", "mg sc v\r\n", "ma sc\r\n", "mg sc v\r\n",
            "ms st 1\r\nx\r\n", "md st I\r\n", "mg st T100\r\n", "touch st 200\r\n", "mg st t\r\n",
            "ms mr 1 C1 MR\r\nx\r\n", "ms mr 1 C1 MA\r\nx\r\n", "mg empty N30\r\n", "ma empty C1\r\n", "ms nn 1\r\nx\r\n",
            "ma nn C1\r\n", "mg v1 N50 T-1\r\n", "mg v1\r\n", "mg v2 T-1 N50\r\n", "mg v2 t\r\n",
            "ms inv 2\r\nab\r\n", "md inv I\r\n", "ms inv 2 C1 I MR\r\nxy\r\n", "mg inv v\r\n",
        ]),
        ("malformed meta commands", [
            "mg\r\n", "ms\r\n", "md\r\n", "ma\r\n", "me\r\n", "mn extra\r\n", "mg foo x\r\n", "mg foo v v\r\n",
            "mg foo q x\r\nmn\r\n", "mg foo D1\r\n", "mg foo Tabc\r\n", "mg foo T\r\n", "mg foo E5 c\r\n",
            "mg foo O\(String(repeating: "a", count: 40))\r\n", "mg \(String(repeating: "a", count: 251)) v\r\n",
            "md foo v\r\n", "md foo x\r\n", "md foo E5 q\r\nmn\r\n", "ma foo Dabc\r\n", "ma foo N0 Jx\r\n",
            "ms k abc\r\nxx\r\n", "ms k -1\r\nzz\r\n", "ms foo\r\n", "ms foo S2\r\nzz\r\n", "ms k 2 Mz\r\nxx\r\n",
            "ms k 2 Mp\r\nxx\r\n", "ms k 2 M\r\nxx\r\n", "ms k 2 T\r\nzz\r\n", "ms k 2 x\r\nzz\r\n", "ms k 2 v v\r\nzz\r\n",
            "ms q 2 b\r\nzz\r\n", "ms big 1\r\nx\r\n", "ms big 1048577 T0\r\n\(String(repeating: "b", count: 1_048_577))\r\n",
            "mg big v\r\n", "ms k 2\r\nabcd\r\n", "ms k 2 Fabc\r\nzz\r\n", "ms k 2 C-1\r\nzz\r\n",
            // Which error stands when several flags are wrong.
            "mg abc Tx b\r\n", "mg abc b Tx\r\n", "mg abc O\(String(repeating: "o", count: 40)) x\r\n",
            "mg abc O\(String(repeating: "o", count: 40)) Tx\r\n", "mg abc M x\r\n", "mg abc Fx Tx\r\n",
            "ms abc 1 Fx Tx\r\nz\r\n", "ms abc 1 M x\r\nz\r\n",
            // The data block of a meta set is data, never a command.
            "set victim 0 0 1\r\nv\r\n", "ms k 13\r\ndelete victim\r\n", "mg k v\r\n", "mg victim v\r\n",
        ]),
        ("version and verbosity", [
            "version foo bar\r\n", "verbosity noreply\r\nmn\r\n", "verbosity abc noreply\r\nmn\r\n", "verbosity abc\r\n",
            "verbosity 1 2 3\r\n", "verbosity\r\n", "verbosity 1\r\n", "verbosity 1 noreply\r\nmn\r\n",
        ]),
    ]

    /// The parts of a reply that legitimately differ: cas uniques and the version string.
    static func normalized(_ reply: String) -> String {
        var text = reply.replacingOccurrences(of: #"(?<=[ ])c[0-9]+"#, with: "c<cas>", options: .regularExpression)
        text = text.replacingOccurrences(of: #"VERSION [^\r]*"#, with: "VERSION <v>", options: .regularExpression)
        return text
    }

    /// Sends `request` followed by `mn` and returns what came before the `MN` line.
    private func reply(_ client: RawClient, _ request: String) -> String {
        do {
            try client.send(request + "mn\r\n")
            var text = try client.read(until: "MN\r\n", timeout: 5)
            // A request that itself ends with `mn` answers MN twice.
            if request.hasSuffix("mn\r\n") { text += try client.read(until: "MN\r\n", timeout: 5) }
            return String(decoding: text, as: UTF8.self)
        } catch {
            return "<\(error)>"
        }
    }

    func testMetaCommandsAnswerLikeMemcached() throws {
        let scratch = try scratchDirectory()
        let memcached = try MemcachedProcess(logDir: scratch.path)
        defer { memcached.stop() }
        let flared = try startFlared(["--max-key-length", "250", "--max-value-size", "1048576"])
        var matched = 0
        for (scenario, steps) in MetaCommandTests.scenarios {
            let f = try connect(flared)
            let m = try connect(port: memcached.port)
            for request in steps {
                let fromFlared = MetaCommandTests.normalized(reply(f, request))
                let fromMemcached = MetaCommandTests.normalized(reply(m, request))
                XCTAssertEqual(Bytes.show(fromFlared), Bytes.show(fromMemcached),
                               "\(scenario): \(Bytes.show(String(request.prefix(80)))): flared differs from memcached")
                if fromFlared == fromMemcached { matched += 1 }
            }
        }
        let total = MetaCommandTests.scenarios.reduce(0) { $0 + $1.1.count }
        print("meta commands: \(matched) of \(total) requests answered as memcached 1.6.18 does")
        XCTAssertEqual(matched, total)
    }

    /// `mg`'s `h` (read before) and `l` (seconds since the last access), with the reads that count
    /// (get, gets, gat, touch, mg, from any connection), those that do not (`mg … u`, incr), the
    /// changes memcached makes in place (touch, a counter no longer, `md … I`), which keep them,
    /// and a new set that starts afresh. `(1, …)` goes on a second connection (another worker in
    /// flared); `nil` sleeps 2.1 s. memcached's clock ticks once a second apart from the wall
    /// clock, so `l` may be one more there: values are compared as 0–1 and 2–3. Not asked: `l`
    /// after a later read of an item read twice before, which memcached's LRU decides (see
    /// docs/meta-commands.md).
    static let accessSteps: [(Int, String)?] = [
        (0, "set a 0 0 1\r\nx\r\n"), (0, "mg a h l\r\n"), (0, "mg a v\r\n"), (0, "mg a h l t\r\n"),
        (0, "set p 0 0 1\r\nx\r\n"), (0, "set q 0 0 1\r\nx\r\n"), (0, "get q\r\n"), (0, "get q\r\n"),
        (0, "set t1 0 0 1\r\nx\r\n"), (0, "set t2 0 0 1\r\nx\r\n"), (0, "set c1 0 0 1\r\n1\r\n"),
        (0, "set c2 0 0 1\r\n1\r\n"), (1, "get c2\r\n"), (1, "get c2\r\n"),
        nil,
        (0, "mg a l\r\n"), (0, "get p\r\n"), (0, "mg p l h\r\n"), (1, "mg q l h v\r\n"),
        // Changes memcached makes in place keep the item's reads and access time.
        (0, "touch t1 0\r\n"), (1, "mg t1 l h\r\n"), (0, "mg t2 h l T0\r\n"), (0, "mg t2 l h\r\n"),
        (0, "incr c1 1\r\n"), (0, "mg c1 h l\r\n"), (0, "incr c2 1\r\n"), (0, "mg c2 h l\r\n"),
        (0, "set a 0 0 1\r\ny\r\n"), (0, "mg a h\r\n"), (0, "mg a h l\r\n"),
        (0, "set x 0 0 1\r\nx\r\n"), (1, "mg x h\r\n"), (0, "mg x h\r\n"),
        (0, "set g 0 0 1\r\nx\r\n"), (0, "gets g\r\n"), (0, "mg g h\r\n"),
        (0, "set t 0 0 1\r\nx\r\n"), (0, "touch t 0\r\n"), (0, "mg t h\r\n"),
        (0, "set gt 0 0 1\r\nx\r\n"), (1, "gat 0 gt\r\n"), (0, "mg gt h\r\n"),
        (0, "set mt 0 0 1\r\nx\r\n"), (0, "mg mt h T0\r\n"), (0, "mg mt h T0\r\n"),
        (0, "set u 0 0 1\r\nx\r\n"), (0, "mg u h u\r\n"), (0, "mg u h u\r\n"),
        (0, "set n 0 0 1\r\n1\r\n"), (0, "incr n 1\r\n"), (0, "mg n h\r\n"),
        (0, "set n1 0 0 1\r\n1\r\n"), (1, "mg n1\r\n"), (0, "incr n1 1\r\n"), (0, "mg n1 h\r\n"),
        (0, "set n2 0 0 1\r\n9\r\n"), (0, "mg n2\r\n"), (0, "incr n2 1\r\n"), (0, "mg n2 h\r\n"),
        (0, "set n3 0 0 1\r\n1\r\n"), (0, "mg n3\r\n"), (0, "ma n3\r\n"), (0, "mg n3 h\r\n"),
        (0, "set s1 0 0 1\r\nx\r\n"), (0, "mg s1\r\n"), (0, "md s1 I\r\n"), (0, "mg s1 h\r\n"),
        (0, "set s2 0 0 1\r\nx\r\n"), (0, "mg s2\r\n"), (0, "ms s2 1 I C1\r\ny\r\n"), (0, "mg s2 h\r\n"),
        (0, "set k 0 0 1\r\nx\r\n"), (0, "mg k q\r\n"), (0, "mg k h\r\n"),
        (0, "mg none h l\r\n"), (0, "mg viv h l N30\r\n"), (0, "mg viv h l\r\n"),
    ]

    func testHitBeforeAndLastAccessAnswerLikeMemcached() throws {
        let scratch = try scratchDirectory()
        let memcached = try MemcachedProcess(logDir: scratch.path)
        defer { memcached.stop() }
        let flared = try startFlared()
        let f = [try connect(flared), try connect(flared)]
        let m = [try connect(port: memcached.port), try connect(port: memcached.port)]
        func bucketed(_ reply: String) -> String {
            var text = MetaCommandTests.normalized(reply)
            text = text.replacingOccurrences(of: #"(?<=VALUE [^ ]{1,250} [0-9]{1,10} [0-9]{1,10} )[0-9]+"#,
                                             with: "<cas>", options: .regularExpression)
            text = text.replacingOccurrences(of: #"(?<=[ ])l[01](?=[ \r])"#, with: "l<0-1>", options: .regularExpression)
            return text.replacingOccurrences(of: #"(?<=[ ])l[23](?=[ \r])"#, with: "l<2-3>", options: .regularExpression)
        }
        for step in MetaCommandTests.accessSteps {
            guard let (connection, request) = step else {
                Thread.sleep(forTimeInterval: 2.1)
                continue
            }
            let fromFlared = bucketed(reply(f[connection], request))
            let fromMemcached = bucketed(reply(m[connection], request))
            XCTAssertEqual(Bytes.show(fromFlared), Bytes.show(fromMemcached),
                           "\(Bytes.show(request)): flared differs from memcached")
        }
    }

    /// A cas unique read with `mg c` guards `ms C`, `md C` and `ma C`; a stale one is refused.
    func testCasUniquesGuardMetaWrites() throws {
        let flared = try startFlared()
        let client = try connect(flared)
        try exchange(client, "ms k 1\r\n1\r\n", "HD\r\n")
        let cas = try metaCas(client, "k")
        try exchange(client, "ms k 1 C\(cas - 1)\r\n2\r\n", "EX\r\n")
        try exchange(client, "ma k C\(cas) v\r\n", "VA 1\r\n2\r\n")
        try exchange(client, "md k C\(cas)\r\n", "EX\r\n")
        let next = try metaCas(client, "k")
        XCTAssertGreaterThan(next, cas)
        try exchange(client, "md k C\(next) q\r\nmg k v\r\n", "EN\r\n")
        // The cas unique a classic `gets` reports is the one meta commands compare.
        try exchange(client, "set c 0 0 1\r\nx\r\n", "STORED\r\n")
        let classic = try casUnique(client, "c", value: "x")
        try exchange(client, "ms c 1 C\(classic) MA\r\ny\r\n", "HD\r\n")
        try exchange(client, "mg c v\r\n", "VA 2\r\nxy\r\n")
    }

    private func metaCas(_ client: RawClient, _ key: String) throws -> UInt64 {
        try client.send("mg \(key) c\r\n")
        let line = String(decoding: try client.read(until: "\r\n", timeout: 5), as: UTF8.self)
        guard line.hasPrefix("HD c"), let value = UInt64(line.dropFirst(4).prefix(while: \.isNumber)) else {
            throw HarnessError.message("unexpected reply to mg c: \(line)")
        }
        return value
    }
}
