import Foundation
import XCTest

/// 2. One partition (master on node 1): every node answers for the whole cluster.
final class DataRoutingTests: ClusterTestCase {
    func testWritesAndReadsThroughAnyNode() throws {
        try startCluster()
        try cluster.makeFirstMaster(1)

        // Sets through the two proxies.
        var expected: [String: GotItem] = [:]
        for (number, prefix) in [(2, "via2-"), (3, "via3-")] {
            let client = try cluster.client(number)
            for (i, key) in keyNames(prefix, 40).enumerated() {
                let value = "\(key)-value-\(String(repeating: "x", count: i * 7))"
                let flags = UInt32(number * 1000 + i)
                XCTAssertEqual(try client.store("set", key, value, flags: flags), "STORED", "set \(key) via node \(number)")
                expected[key] = GotItem(flags: flags, value: value, cas: nil)
            }
        }
        // add / replace / append / delete through a proxy keep memcached semantics.
        let proxy = try cluster.client(2)
        XCTAssertEqual(try proxy.store("add", "via3-0", "dup"), "NOT_STORED")
        XCTAssertEqual(try proxy.store("replace", "no-such-key", "x"), "NOT_STORED")
        XCTAssertEqual(try proxy.store("append", "via3-1", "+tail"), "STORED")
        expected["via3-1"] = GotItem(flags: expected["via3-1"]!.flags, value: expected["via3-1"]!.value + "+tail", cas: nil)
        XCTAssertEqual(try proxy.delete("via3-2"), "DELETED")
        XCTAssertEqual(try proxy.delete("via3-2"), "NOT_FOUND")
        expected["via3-2"] = nil

        // noreply writes through a proxy, then a normal request on the same connection.
        let quiet = try cluster.client(3)
        for key in keyNames("quiet-", 30) {
            try quiet.store("set", key, "q:\(key)", flags: 7, options: "noreply")
            expected[key] = GotItem(flags: 7, value: "q:\(key)", cas: nil)
        }
        _ = try quiet.delete("via2-5", options: "noreply")
        expected["via2-5"] = nil
        XCTAssertEqual(try quiet.line("version").hasPrefix("VERSION"), true)
        // noreply writes are not acknowledged: give them a bounded time to land.
        XCTAssertTrue(waitUntil(timeout: 5) {
            guard let master = try? cluster.client(1), let items = try? master.get(keyNames("quiet-", 30)) else { return false }
            return items.count == 30 && (try? master.get("via2-5")) == .some(nil)
        }, "noreply writes did not all arrive at the master")

        // Single gets through every node.
        let allKeys = expected.keys.sorted()
        let missing = ["missing-a", "via3-2", "via2-5", "missing-b"]
        for number in [1, 2, 3] {
            let client = try cluster.client(number)
            for key in allKeys {
                let item = try client.get(key)
                XCTAssertEqual(item?.value, expected[key]!.value, "get \(key) via node \(number)")
                XCTAssertEqual(item?.flags, expected[key]!.flags, "flags of \(key) via node \(number)")
            }
            for key in missing { XCTAssertNil(try client.get(key), "get \(key) via node \(number) should miss") }
        }

        // One multi-get spanning every key (and misses) through every node: all hits, in order.
        let master = try cluster.client(1)
        let dump = try master.dump()
        for number in [1, 2, 3] {
            let client = try cluster.client(number)
            let request = allKeys + missing
            let items = try client.get(request, command: "gets")
            XCTAssertEqual(Set(items.keys), Set(allKeys), "multi-get hit set via node \(number)")
            for key in allKeys {
                XCTAssertEqual(items[key]?.value, expected[key]!.value, "multi-get \(key) via node \(number)")
                XCTAssertEqual(items[key]?.flags, expected[key]!.flags, "multi-get flags of \(key) via node \(number)")
                XCTAssertEqual(items[key]?.cas, dump[key]?.version, "gets cas of \(key) via node \(number) vs master's version")
            }
        }
        // Reply order of a forwarded multi-get follows the request order.
        let ordered = try cluster.client(2)
        try ordered.send("get via3-10 missing-a via2-10 via3-11\r\n")
        var order: [String] = []
        while true {
            let line = try ordered.readLine()
            if line == "END" { break }
            let fields = line.split(separator: " ")
            XCTAssertEqual(fields.first, "VALUE", line)
            order.append(String(fields[1]))
            _ = try ordered.readBytes(Int(fields[3])! + 2)
        }
        XCTAssertEqual(order, ["via3-10", "via2-10", "via3-11"])

        // A client that half-closes right after its requests (`printf … | nc -q1 <proxy>`) still
        // gets every reply, the forwarded ones included, before the node closes.
        let halfClosed = try cluster.client(2)
        try halfClosed.send("get via3-20\r\nset hc-key 5 0 2\r\nhc\r\nget via2-20 missing-a\r\n")
        halfClosed.finishSending()
        XCTAssertEqual(try halfClosed.readToEnd(),
                       "VALUE via3-20 \(expected["via3-20"]!.flags) \(expected["via3-20"]!.value.utf8.count)\r\n\(expected["via3-20"]!.value)\r\nEND\r\n"
                       + "STORED\r\n"
                       + "VALUE via2-20 \(expected["via2-20"]!.flags) \(expected["via2-20"]!.value.utf8.count)\r\n\(expected["via2-20"]!.value)\r\nEND\r\n",
                       "replies to a half-closed client through a proxy")
        XCTAssertEqual(try master.get("hc-key")?.value, "hc")
        XCTAssertEqual(try master.delete("hc-key"), "DELETED")

        // The master stores every key, the proxies none.
        XCTAssertEqual(try master.dumpKey(), Set(allKeys), "dump_key on the master")
        XCTAssertEqual(Set(dump.keys), Set(allKeys))
        for key in allKeys {
            XCTAssertEqual(dump[key]?.value, expected[key]!.value, "dump \(key)")
            XCTAssertEqual(dump[key]?.flags, expected[key]!.flags, "dump flags \(key)")
        }
        for number in [2, 3] {
            XCTAssertEqual(try cluster.client(number).dumpKey(), [], "a proxy stores nothing locally (node \(number))")
        }
    }
}
