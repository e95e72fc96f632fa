import XCTest
@testable import FlareCluster

/// The node map model: NODE lines, `stats nodes` text, ordering (docs/original-behaviour.md, "Node map" and "stats
/// replies").
final class NodeMapTests: XCTestCase {
    private func map(_ lines: [String]) throws -> NodeMap {
        try NodeMap(nodeLines: lines)
    }

    func testRoleAndStateCodesAndNames() {
        XCTAssertEqual(NodeRole.allCases.map(\.rawValue), [0, 1, 2])
        XCTAssertEqual(NodeRole.allCases.map(\.name), ["master", "slave", "proxy"])
        XCTAssertEqual(NodeState.allCases.map(\.rawValue), [0, 1, 2, 3])
        XCTAssertEqual(NodeState.allCases.map(\.name), ["active", "prepare", "down", "ready"])
        XCTAssertEqual(NodeRole(name: "slave"), .slave)
        XCTAssertNil(NodeRole(name: "Master"))
        XCTAssertEqual(NodeState(name: "ready"), .ready)
        XCTAssertNil(NodeState(name: "up"))
    }

    func testNodeLineRoundTrip() throws {
        // Lines as the original index sent them (docs/original-behaviour.md, "Recorded exchanges").
        for line in [
            "NODE 127.0.0.1 12131 0 0 0 1 16",
            "NODE 127.0.0.1 12139 2 0 -1 0 17",
            "NODE 127.0.0.1 12139 1 1 0 0 17",
            "NODE 127.0.0.3 12123 0 3 1 1 17",
            "NODE 127.0.0.2 12122 2 2 -1 0 18",
        ] {
            XCTAssertEqual(try NodeEntry(nodeLine: line).nodeLine, line)
        }
        let entry = try NodeEntry(nodeLine: "NODE 127.0.0.3 12123 0 3 1 1 17")
        XCTAssertEqual(entry, NodeEntry(name: "127.0.0.3", port: 12123, role: .master, state: .ready,
                                        partition: 1, balance: 1, threadType: 17))
        XCTAssertEqual(entry.nodeKey, "127.0.0.3:12123")
    }

    func testNodeLineToleranceMatchesTheOriginal() throws {
        let expected = NodeEntry(name: "host", port: 1, role: .slave, state: .active, partition: 0, balance: 2, threadType: 16)
        XCTAssertEqual(try NodeEntry(nodeLine: "NODE host 1 1 0 0 2 16\r\n"), expected)
        XCTAssertEqual(try NodeEntry(nodeLine: "NODE host 1 1 0 0 2 16\n"), expected)
        XCTAssertEqual(try NodeEntry(nodeLine: "  NODE   host 1 1  0 0 2 16  "), expected)
        XCTAssertEqual(try NodeEntry(nodeLine: "NODE host 1 1 0 0 2 16 extra words"), expected)
        let bytes = Array("NODE host 1 1 0 0 2 16".utf8)
        XCTAssertEqual(try bytes.withUnsafeBytes { try NodeEntry(nodeLine: $0) }, expected)
    }

    func testMalformedNodeLines() {
        let cases: [(String, NodeLineError)] = [
            ("NODE bogus", .missingField("port")),
            ("", .notANodeLine("")),
            ("END", .notANodeLine("END")),
            ("node host 1 1 0 0 2 16", .notANodeLine("node")),
            ("NODE", .missingField("server name")),
            ("NODE host 1 1 0 0 2", .missingField("thread type")),
            ("NODE host x 1 0 0 2 16", .notAnInteger(field: "port", word: "x")),
            ("NODE host 1 1 0 0 2- 16", .notAnInteger(field: "balance", word: "2-")),
            ("NODE host 1 1 0 99999999999 2 16", .notAnInteger(field: "partition", word: "99999999999")),
            ("NODE host\t1 1 0 0 2 16", .missingField("thread type")),
            ("NODE host 70000 1 0 0 2 16", .portOutOfRange(70000)),
            ("NODE host 1 3 0 0 2 16", .unknownRole(3)),
            ("NODE host 1 1 4 0 2 16", .unknownState(4)),
        ]
        for (line, expected) in cases {
            XCTAssertThrowsError(try NodeEntry(nodeLine: line), line) { error in
                XCTAssertEqual(error as? NodeLineError, expected, line)
            }
        }
        XCTAssertEqual("\(NodeLineError.unknownRole(3))", "NODE line role 3 is not 0 (master), 1 (slave) or 2 (proxy)")
        let invalidUTF8: [UInt8] = Array("NODE ".utf8) + [0xFF] + Array(" 1 1 0 0 2 16".utf8)
        XCTAssertThrowsError(try invalidUTF8.withUnsafeBytes { try NodeEntry(nodeLine: $0) }) { error in
            XCTAssertEqual(error as? NodeLineError, .invalidName)
        }
    }

    func testNodeLinesListIsFormattedInNodeKeyOrder() throws {
        // docs/original-behaviour.md, "Recorded exchanges": the push after the first master of partition 0 was
        // assigned.
        let nodes = try map([
            "NODE 127.0.0.3 12123 2 0 -1 0 17",
            "NODE 127.0.0.1 12121 0 0 0 1 16",
            "NODE 127.0.0.2 12122 2 0 -1 0 18",
        ])
        XCTAssertEqual(nodes.nodeLines,
                       "NODE 127.0.0.1 12121 0 0 0 1 16\r\nNODE 127.0.0.2 12122 2 0 -1 0 18\r\nNODE 127.0.0.3 12123 2 0 -1 0 17\r\n")
        XCTAssertEqual(Array(nodes.nodeLines.utf8).count, 101, "the original wrote these 101 bytes")
    }

    func testStatsNodesOfFreshProxies() throws {
        // docs/original-behaviour.md, "Recorded exchanges" (threads were allocated in registration order 1, 3, 2).
        let nodes = try NodeMap([
            .freshProxy(name: "127.0.0.1", port: 12121, threadType: 16),
            .freshProxy(name: "127.0.0.3", port: 12123, threadType: 17),
            .freshProxy(name: "127.0.0.2", port: 12122, threadType: 18),
        ])
        XCTAssertEqual(nodes.statsNodesLines + "END\r\n", """
            STAT 127.0.0.1:12121:role proxy\r
            STAT 127.0.0.1:12121:state active\r
            STAT 127.0.0.1:12121:partition -1\r
            STAT 127.0.0.1:12121:balance 0\r
            STAT 127.0.0.1:12121:thread_type 16\r
            STAT 127.0.0.2:12122:role proxy\r
            STAT 127.0.0.2:12122:state active\r
            STAT 127.0.0.2:12122:partition -1\r
            STAT 127.0.0.2:12122:balance 0\r
            STAT 127.0.0.2:12122:thread_type 18\r
            STAT 127.0.0.3:12123:role proxy\r
            STAT 127.0.0.3:12123:state active\r
            STAT 127.0.0.3:12123:partition -1\r
            STAT 127.0.0.3:12123:balance 0\r
            STAT 127.0.0.3:12123:thread_type 17\r
            END\r

            """)
    }

    func testStatsNodesAfterTheTutorial() throws {
        // docs/original-behaviour.md, "Recorded exchanges": two partitions, each master + slave.
        let nodes = try map([
            "NODE 127.0.0.1 12121 1 0 0 1 16",
            "NODE 127.0.0.2 12122 0 0 0 1 18",
            "NODE 127.0.0.3 12123 0 0 1 1 17",
            "NODE 127.0.0.4 12124 1 0 1 1 19",
        ])
        let expected = [
            "STAT 127.0.0.1:12121:role slave", "STAT 127.0.0.1:12121:state active",
            "STAT 127.0.0.1:12121:partition 0", "STAT 127.0.0.1:12121:balance 1",
            "STAT 127.0.0.1:12121:thread_type 16",
            "STAT 127.0.0.2:12122:role master", "STAT 127.0.0.2:12122:state active",
            "STAT 127.0.0.2:12122:partition 0", "STAT 127.0.0.2:12122:balance 1",
            "STAT 127.0.0.2:12122:thread_type 18",
            "STAT 127.0.0.3:12123:role master", "STAT 127.0.0.3:12123:state active",
            "STAT 127.0.0.3:12123:partition 1", "STAT 127.0.0.3:12123:balance 1",
            "STAT 127.0.0.3:12123:thread_type 17",
            "STAT 127.0.0.4:12124:role slave", "STAT 127.0.0.4:12124:state active",
            "STAT 127.0.0.4:12124:partition 1", "STAT 127.0.0.4:12124:balance 1",
            "STAT 127.0.0.4:12124:thread_type 19",
        ].map { $0 + "\r\n" }.joined()
        XCTAssertEqual(nodes.statsNodesLines, expected)
    }

    func testStatsNodesAfterANodeSyncByHand() throws {
        // docs/original-behaviour.md, "Recorded exchanges": `node sync 2` with one NODE line, then `stats nodes`.
        let nodes = try map(["NODE 127.0.0.1 12131 0 0 0 1 16"])
        XCTAssertEqual(nodes.statsNodesLines, """
            STAT 127.0.0.1:12131:role master\r
            STAT 127.0.0.1:12131:state active\r
            STAT 127.0.0.1:12131:partition 0\r
            STAT 127.0.0.1:12131:balance 1\r
            STAT 127.0.0.1:12131:thread_type 16\r

            """)
    }

    func testOrderIsByteWiseOnTheNodeKey() throws {
        // ':' (0x3A) sorts after digits, so "127.0.0.1:…" comes after "127.0.0.10:…";
        // upper case (0x41…) before lower case; 'é' (0xC3 0xA9) after every ASCII byte.
        let nodes = try NodeMap([
            .freshProxy(name: "127.0.0.1", port: 12121, threadType: 16),
            .freshProxy(name: "127.0.0.10", port: 12121, threadType: 17),
            .freshProxy(name: "b", port: 1, threadType: 18),
            .freshProxy(name: "B", port: 1, threadType: 19),
            .freshProxy(name: "é", port: 1, threadType: 20),
            .freshProxy(name: "a", port: 2, threadType: 21),
            .freshProxy(name: "a", port: 10, threadType: 22),
        ])
        XCTAssertEqual(nodes.entries.map(\.nodeKey),
                       ["127.0.0.10:12121", "127.0.0.1:12121", "B:1", "a:10", "a:2", "b:1", "é:1"])
    }

    func testDuplicateNodesAreRejected() {
        XCTAssertThrowsError(try NodeMap(nodeLines: ["NODE h 1 2 0 -1 0 16", "NODE h 1 2 0 -1 0 17"])) { error in
            XCTAssertEqual(error as? NodeMapError, .duplicateNode("h:1"))
            XCTAssertEqual("\(error)", "node h:1 appears more than once")
        }
        XCTAssertThrowsError(try NodeMap(nodeLines: ["NODE h 1 2 0 -1 0 16", "NODE bogus"])) { error in
            XCTAssertEqual(error as? NodeMapError, .badLine(number: 2, .missingField("port")))
        }
    }

    func testLookupUpsertAndRemove() throws {
        var nodes = NodeMap()
        XCTAssertTrue(nodes.isEmpty)
        nodes.upsert(.freshProxy(name: "127.0.0.2", port: 12122, threadType: 17))
        nodes.upsert(.freshProxy(name: "127.0.0.1", port: 12121, threadType: 16))
        XCTAssertEqual(nodes.entries.map(\.nodeKey), ["127.0.0.1:12121", "127.0.0.2:12122"])

        var master = try XCTUnwrap(nodes[name: "127.0.0.2", port: 12122])
        master.role = .master
        master.partition = 0
        master.balance = 1
        nodes.upsert(master)
        XCTAssertEqual(nodes.count, 2)
        XCTAssertEqual(nodes[nodeKey: "127.0.0.2:12122"]?.role, .master)
        XCTAssertNil(nodes[nodeKey: "127.0.0.3:12123"])

        XCTAssertEqual(nodes.remove(nodeKey: "127.0.0.1:12121")?.threadType, 16)
        XCTAssertNil(nodes.remove(nodeKey: "127.0.0.1:12121"))
        XCTAssertEqual(nodes.nodeLines, "NODE 127.0.0.2 12122 0 0 0 1 17\r\n")
    }
}
