#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest

/// flare's administrative commands: stats, stats threads, kill, dump, dump_key and friends.
final class AdminTests: FlaredTestCase {
    /// docs/original-behaviour.md, "stats replies", in order.
    static let statNames = [
        "pid", "uptime", "time", "version", "pointer_size", "rusage_user", "rusage_system", "curr_items",
        "total_items", "bytes", "curr_connections", "total_connections", "connection_structures", "cmd_get",
        "cmd_set", "get_hits", "get_misses", "delete_hits", "delete_misses", "incr_hits", "incr_misses",
        "decr_hits", "decr_misses", "cas_hits", "cas_misses", "cas_badval", "touch_hits", "touch_misses",
        "evictions", "bytes_read", "bytes_written", "limit_maxbytes", "threads", "pool_threads", "node_map_version",
    ]

    func testSimpleAdminCommands() throws {
        let flared = try startFlared()
        let client = try connect(flared)
        try exchange(client, "version\r\n", "VERSION flare-1.3.4\r\n")
        try exchange(client, "ping\r\n", "OK\r\n")
        try exchange(client, "verbosity 1\r\n", "OK\r\n")
        try exchange(client, "keys a 10\r\n", "SERVER_ERROR not available on current storage type\r\n")
        try exchange(client, "keys a b 1\r\n", "SERVER_ERROR not available on current storage type\r\n")
        try exchange(client, "keys a\r\n", "ERROR\r\n")
        for command in ["node", "node sync_x", "meta", "shutdown", "shutdown now"] {
            try exchange(client, command + "\r\n", "ERROR\r\n")
        }
        for sub in ["items", "slabs", "sizes", "threads slave"] {
            try exchange(client, "stats \(sub)\r\n", "END\r\n")
        }
        try exchange(client, "stats threads queue\r\n", "STAT total_thread_queue 0\r\nEND\r\n")
        for bad in ["stats settings", "stats reset", "stats detail dump", "stats threads bogus", "stats items x"] {
            try exchange(client, bad + "\r\n", "ERROR\r\n")
        }
        // Standalone: this node is the only master, of partition 0.
        let nodes = String(decoding: try { try client.send("stats nodes\r\n"); return try client.read(until: "END\r\n") }(), as: UTF8.self)
        let lines = nodes.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        XCTAssertEqual(lines.count, 6, nodes)
        let suffixes = ["role master", "state active", "partition 0", "balance 1", "thread_type 16", "END"]
        for (line, suffix) in zip(lines, suffixes) {
            if suffix == "END" { XCTAssertEqual(line, "END") } else {
                XCTAssertTrue(line.hasPrefix("STAT ") && line.hasSuffix(":\(flared.port):\(suffix)"), "\(line) should end in :\(flared.port):\(suffix)")
            }
        }
        // show variables: name: value lines, then END.
        try client.send("show variables\r\n")
        let variables = String(decoding: try client.read(until: "\r\nEND\r\n"), as: UTF8.self)
        XCTAssertTrue(variables.contains("max_connection:         128\r\n"), variables)
        XCTAssertTrue(variables.contains("server_port:            \(flared.port)\r\n"), variables)
        XCTAssertTrue(variables.contains("data_dir:               \(flared.dataDir)\r\n"), variables)
        XCTAssertTrue(variables.contains("storage_type:           tch\r\n"), variables)
        try exchange(client, "show\r\n", "ERROR\r\n")
        try exchange(client, "show variables x\r\n", "ERROR\r\n")
    }

    func testStatsHasAllKeysInOrderAndCountersMove() throws {
        let flared = try startFlared()
        let client = try connectFirst(flared)
        let first = try stats(client)
        XCTAssertEqual(first.map(\.0), AdminTests.statNames)
        let values = Dictionary(first, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(values["pid"], String(flared.pid))
        XCTAssertEqual(values["version"], "1.3.4")
        XCTAssertEqual(values["pointer_size"], "64")
        for name in ["rusage_user", "rusage_system"] {
            XCTAssertNotNil(values[name]?.range(of: #"^[0-9]+\.[0-9]{6}$"#, options: .regularExpression), "\(name) = \(values[name] ?? "nil")")
        }
        let now = Int(Date().timeIntervalSince1970)
        XCTAssertLessThanOrEqual(abs((Int(values["time"] ?? "") ?? 0) - now), 3, "stats time is the server clock")
        XCTAssertLessThanOrEqual(Int(values["uptime"] ?? "") ?? 99, 3)
        for name in ["connection_structures", "evictions", "limit_maxbytes", "curr_items", "cmd_get", "cmd_set"] {
            XCTAssertEqual(values[name], "0", name)
        }
        XCTAssertEqual(values["curr_connections"], "1")

        func snapshot() throws -> [String: Int] {
            Dictionary(try stats(client).compactMap { pair in Int(pair.1).map { (pair.0, $0) } }, uniquingKeysWith: { a, _ in a })
        }
        let before = try snapshot()
        try exchange(client, "set a 0 0 1\r\n1\r\nset b 0 0 1\r\n2\r\nadd a 0 0 1\r\n3\r\n", "STORED\r\nSTORED\r\nNOT_STORED\r\n")
        try exchange(client, "get a b c a\r\n", "VALUE a 0 1\r\n1\r\nVALUE b 0 1\r\n2\r\nVALUE a 0 1\r\n1\r\nEND\r\n")
        try exchange(client, "incr a 1\r\nincr zz 1\r\ndecr a 1\r\ndecr zz 1\r\n", "2\r\nNOT_FOUND\r\n1\r\nNOT_FOUND\r\n")
        let unique = try casUnique(client, "a", value: "1")
        try exchange(client, "cas a 0 0 1 99\r\nx\r\ncas a 0 0 1 \(unique)\r\ny\r\ncas zz 0 0 1 1\r\nz\r\n", "EXISTS\r\nSTORED\r\nNOT_FOUND\r\n")
        try exchange(client, "touch a 100\r\ntouch zz 100\r\n", "TOUCHED\r\nNOT_FOUND\r\n")
        try exchange(client, "delete b\r\ndelete b\r\n", "DELETED\r\nNOT_FOUND\r\n")
        let other = try connect(flared)
        try exchange(other, "version\r\n", "VERSION flare-1.3.4\r\n")
        let after = try snapshot()
        func delta(_ name: String) -> Int { (after[name] ?? -1) - (before[name] ?? -1) }
        XCTAssertEqual(delta("cmd_get"), 5)
        XCTAssertEqual(delta("get_hits"), 4)
        XCTAssertEqual(delta("get_misses"), 1)
        XCTAssertEqual(after["curr_items"], 1)
        XCTAssertEqual(delta("total_items"), 3)   // set a, set b, cas a
        XCTAssertEqual(delta("cmd_set"), 8)       // 3 storage + 3 cas + 2 touch
        XCTAssertEqual(delta("incr_hits"), 1)
        XCTAssertEqual(delta("incr_misses"), 1)
        XCTAssertEqual(delta("decr_hits"), 1)
        XCTAssertEqual(delta("decr_misses"), 1)
        XCTAssertEqual(delta("cas_hits"), 1)
        XCTAssertEqual(delta("cas_badval"), 1)
        XCTAssertEqual(delta("cas_misses"), 1)
        XCTAssertEqual(delta("touch_hits"), 1)
        XCTAssertEqual(delta("touch_misses"), 1)
        XCTAssertEqual(delta("delete_hits"), 1)
        XCTAssertEqual(delta("delete_misses"), 1)
        XCTAssertEqual(delta("total_connections"), 1)
        XCTAssertEqual(after["curr_connections"], 2)
        XCTAssertGreaterThan(delta("bytes_read"), 150)
        XCTAssertGreaterThan(delta("bytes_written"), 100)
        XCTAssertGreaterThan(after["bytes"] ?? 0, 0)
        other.close()
        XCTAssertTrue(try eventually { try statValue(client, "curr_connections") == 1 })
    }

    /// One `stats threads` entry: id and its eight keys in order.
    struct ThreadEntry { let id: String; let fields: [(String, String)] }

    private func threads(_ client: RawClient, _ command: String = "stats threads") throws -> [ThreadEntry] {
        var entries: [ThreadEntry] = []
        for (name, value) in try stats(client, command) {
            guard let colon = name.firstIndex(of: ":") else {
                XCTFail("stats threads line without id: \(name) \(value)")
                continue
            }
            let id = String(name[..<colon])
            let field = String(name[name.index(after: colon)...])
            if entries.last?.id == id {
                entries[entries.count - 1] = ThreadEntry(id: id, fields: entries[entries.count - 1].fields + [(field, value)])
            } else {
                entries.append(ThreadEntry(id: id, fields: [(field, value)]))
            }
        }
        return entries
    }

    func testStatsThreadsShowsThisConnectionExecutingStats() throws {
        let flared = try startFlared()
        let me = try connect(flared)
        let idle = try connect(flared)
        try exchange(idle, "version\r\n", "VERSION flare-1.3.4\r\n")
        for command in ["stats threads", "stats threads request"] {
            let entries = try threads(me, command)
            for entry in entries {
                XCTAssertEqual(entry.fields.map(\.0), ["type", "peer", "op", "uptime", "state", "info", "queue", "behind"], entry.id)
                XCTAssertNotNil(UInt64(entry.id), "thread ids are numbers: \(entry.id)")
            }
            func entry(for client: RawClient) -> [String: String]? {
                entries.map { Dictionary($0.fields, uniquingKeysWith: { a, _ in a }) }
                    .first { $0["peer"] == "127.0.0.1:\(client.localPort)" }
            }
            guard let mine = entry(for: me), let other = entry(for: idle) else {
                return XCTFail("\(command): no entry for peer 127.0.0.1:\(me.localPort) or :\(idle.localPort) in \(entries.map(\.fields))")
            }
            XCTAssertEqual(mine["type"], "1")
            XCTAssertEqual(mine["op"], "stats")
            XCTAssertEqual(mine["state"], "execute")
            XCTAssertEqual(mine["info"], "")
            XCTAssertEqual(mine["queue"], "0")
            XCTAssertEqual(mine["behind"], "0")
            XCTAssertEqual(other["op"], "")
            XCTAssertEqual(other["state"], "wait")
        }
    }

    func testKillClosesAnotherConnection() throws {
        let flared = try startFlared()
        let admin = try connect(flared)
        let victim = try connect(flared)
        let bystander = try connect(flared)
        try exchange(victim, "set v 0 0 1\r\nv\r\n", "STORED\r\n")
        try exchange(bystander, "version\r\n", "VERSION flare-1.3.4\r\n")
        let entries = try threads(admin)
        guard let id = entries.first(where: { $0.fields.contains { $0 == ("peer", "127.0.0.1:\(victim.localPort)") } })?.id else {
            return XCTFail("victim not in stats threads")
        }
        try exchange(admin, "kill \(id)\r\n", "OK\r\n")
        expectClose(victim)
        try exchange(bystander, "get v\r\n", "VALUE v 0 1\r\nv\r\nEND\r\n")
        try exchange(admin, "kill 99999\r\n", "CLIENT_ERROR thread not found\r\n")
        // The killed id is gone now.
        XCTAssertTrue(try eventually { try !threads(admin).contains { $0.id == id } })
        try exchange(admin, "kill \(id)\r\n", "CLIENT_ERROR thread not found\r\n")
        try exchange(admin, "kill 1 2\r\n", "ERROR\r\n")
    }

    // MARK: dump / dump_key

    struct DumpedItem: Hashable { let key: String; let flags: String; let version: String; let expire: String; let value: [UInt8] }

    /// Reads a whole `dump` reply, parsing VALUE headers and their data blocks.
    private func readDump(_ client: RawClient, file: StaticString = #filePath, line: UInt = #line) throws -> (items: [DumpedItem], raw: [UInt8]) {
        var items: [DumpedItem] = []
        var raw: [UInt8] = []
        while true {
            let header = try client.read(until: "\r\n")
            raw += header
            let text = String(decoding: header.dropLast(2), as: UTF8.self)
            if text == "END" { return (items, raw) }
            let parts = text.split(separator: " ").map(String.init)
            guard parts.count == 6, parts[0] == "VALUE", let length = Int(parts[3]) else {
                XCTFail("bad dump line \(Bytes.show(header))", file: file, line: line)
                return (items, raw)
            }
            let data = try client.read(count: length + 2)
            raw += data
            XCTAssertEqual(Array(data.suffix(2)), [13, 10], file: file, line: line)
            items.append(DumpedItem(key: parts[1], flags: parts[2], version: parts[4], expire: parts[5], value: Array(data.dropLast(2))))
        }
    }

    private func readKeys(_ client: RawClient) throws -> [String] {
        let text = String(decoding: try client.read(until: "END\r\n"), as: UTF8.self)
        let lines = text.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        XCTAssertEqual(lines.last, "END")
        return lines.dropLast().map { line in
            XCTAssertTrue(line.hasPrefix("KEY "), line)
            return String(line.dropFirst(4))
        }
    }

    func testDumpAndDumpKeyListExactlyTheStoredItems() throws {
        let flared = try startFlared()
        let client = try connect(flared)
        try exchange(client, "dump\r\n", "END\r\n")
        try exchange(client, "dump_key\r\n", "END\r\n")
        let expire = Int(Date().timeIntervalSince1970) + 3600
        var expected: Set<DumpedItem> = []
        for i in 0..<20 {
            let value = "value \(i)\r\nEND\r\n" + String(repeating: "d", count: i)
            try exchange(client, Memcache.set("dump:\(i)", value, flags: UInt32(i), exptime: i % 2 == 0 ? 0 : expire), "STORED\r\n")
            // Versions come from the node's clock: checked below by their order, not spelled out.
            expected.insert(DumpedItem(key: "dump:\(i)", flags: String(i), version: "", expire: i % 2 == 0 ? "0" : String(expire), value: Memcache.bytes(value)))
        }
        // Version moves with modifications; deleted and expired items are not listed.
        try exchange(client, "append dump:0 0 0 1\r\n!\r\n", "STORED\r\n")
        expected.remove(expected.first { $0.key == "dump:0" }!)
        expected.insert(DumpedItem(key: "dump:0", flags: "0", version: "", expire: "0", value: Memcache.bytes("value 0\r\nEND\r\n!")))
        try exchange(client, "set gone 0 0 1\r\ng\r\ndelete gone\r\nset expired 0 -1 1\r\ne\r\n", "STORED\r\nDELETED\r\nSTORED\r\n")

        try client.send("dump\r\n")
        let full = try readDump(client)
        XCTAssertEqual(full.items.count, 20)
        XCTAssertEqual(Set(full.items.map { DumpedItem(key: $0.key, flags: $0.flags, version: "", expire: $0.expire, value: $0.value) }),
                       expected)
        // Each write took the next version: the items' versions follow their write order, dump:0's append last.
        let versions = Dictionary(uniqueKeysWithValues: full.items.map { ($0.key, UInt64($0.version) ?? 0) })
        let order = (1..<20).map { versions["dump:\($0)"] ?? 0 } + [versions["dump:0"] ?? 0]
        XCTAssertEqual(order, order.sorted(), "versions in write order")
        XCTAssertEqual(Set(order).count, 20, "no two items share a version")
        XCTAssertFalse(order.contains(0))
        try client.send("dump 0 0 1\r\n")
        let same = try readDump(client)
        XCTAssertEqual(Bytes.show(same.raw, limit: 100_000), Bytes.show(full.raw, limit: 100_000), "dump 0 0 1 equals dump")
        try client.send("dump 0\r\n")
        XCTAssertEqual(try readDump(client).raw, full.raw)

        try client.send("dump_key\r\n")
        let keys = try readKeys(client)
        XCTAssertEqual(keys.count, 20)
        XCTAssertEqual(keys, full.items.map(\.key), "dump_key lists the keys in dump's order")
        try client.send("dump_key 0 1\r\n")
        XCTAssertEqual(try readKeys(client), keys)
        // Not checked yet: `dump 0 0 2` + `dump 0 1 2` splitting the items. The partition filter is
        // a placeholder until the cluster's key resolver is wired in (NodeMembership.belongs), and
        // answers every partitioned dump with nothing.

        // Requests pipelined behind a dump are answered after it, in order.
        try client.send("dump\r\nget dump:1\r\ndump_key\r\nversion\r\n")
        XCTAssertEqual(try readDump(client).raw, full.raw)
        expectReply(client, Memcache.value("dump:1", "value 1\r\nEND\r\nd", flags: 1) + "END\r\n")
        XCTAssertEqual(try readKeys(client), keys)
        expectReply(client, "VERSION flare-1.3.4\r\n")

        for bad in ["dump -1", "dump 0 2 2", "dump 0 0", "dump_key 2 2", "dump_key 0"] {
            try exchange(client, bad + "\r\n", "ERROR\r\n")
        }
        try exchange(client, "version\r\n", "VERSION flare-1.3.4\r\n")
    }

    /// A dump's `wait` is microseconds per item: 1,000 items at 50 µs pause for 50 ms in all. On the
    /// event loop's coarse clock each pause would last until its next tick (1–4 ms), 1 s or more.
    func testDumpWaitIsMicrosecondsNotClockTicks() throws {
        let flared = try startFlared()
        let client = try connect(flared)
        let batch = (0..<1000).map { Memcache.set("tick:\($0)", "v") }.joined()
        try exchange(client, batch, String(repeating: "STORED\r\n", count: 1000))
        let start = Date()
        try client.send("dump 50\r\n")
        XCTAssertEqual(try readDump(client).items.count, 1000)
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertGreaterThanOrEqual(elapsed, 0.05, "1,000 pauses of 50 µs")
        XCTAssertLessThan(elapsed, 0.8, "each pause lasted about a clock tick")
    }

    func testSecondDumpIsBusyOnlyWhileTheFirstRuns() throws {
        let flared = try startFlared()
        let first = try connect(flared)
        let second = try connect(flared)
        for i in 0..<5 {
            try exchange(first, Memcache.set("busy:\(i)", "v\(i)"), "STORED\r\n")
        }
        // 200 ms per item: the first dump runs for about a second.
        try first.send("dump 200000\r\n")
        let firstHeader = try first.read(until: "\r\n")
        XCTAssertTrue(firstHeader.starts(with: Memcache.bytes("VALUE busy:")), Bytes.show(firstHeader))
        try exchange(second, "dump\r\n", "SERVER_ERROR database busy\r\n")
        try exchange(second, "dump_key\r\n", "SERVER_ERROR database busy\r\n")
        try exchange(second, "get busy:0\r\n", "VALUE busy:0 0 2\r\nv0\r\nEND\r\n")  // other commands still work
        // Read the first dump slowly to its end.
        var rest: [UInt8] = []
        while Bytes.find(Memcache.bytes("END\r\n"), in: rest) == nil {
            usleep(50_000)
            rest += first.readAvailable(quiet: 0.01, limit: 0.1)
            if first.isClosedByPeer { break }
        }
        XCTAssertEqual(Bytes.count("VALUE busy:", in: firstHeader + rest), 5)
        XCTAssertTrue(rest.suffix(5).elementsEqual(Memcache.bytes("END\r\n")), Bytes.show(rest))
        // Now a dump runs.
        try second.send("dump_key\r\n")
        XCTAssertEqual(Set(try readKeys(second)), Set((0..<5).map { "busy:\($0)" }))
        // A client that leaves in the middle of a dump releases it.
        let leaver = try connect(flared)
        try leaver.send("dump 200000\r\n")
        _ = try leaver.read(until: "\r\n")
        try exchange(second, "dump\r\n", "SERVER_ERROR database busy\r\n")
        leaver.close()
        XCTAssertTrue(try eventually(timeout: 3) {
            try second.send("dump_key\r\n")
            let reply = try second.read(until: "\r\n")
            if reply == Memcache.bytes("SERVER_ERROR database busy\r\n") { return false }
            _ = try second.read(until: "END\r\n")
            return true
        }, "dump still busy after its client left")
    }
}
