@testable import FlareTools
import XCTest

/// The requests each sub-command sends and how it reads the replies, against a fake daemon
/// that replies with transcript bytes.
final class WireDialogueTests: XCTestCase {
    func testEverySessionOpensWithVersionAndEndsWithQuit() throws {
        let index = try FakeFlareServer { _ in statsNodesReply([("127.0.0.1:12121", "proxy", "active", -1, 0, 16)]) }
        defer { index.stop() }
        let console = TestConsole()
        XCTAssertEqual(try ListOperation().run(console.session(index: index)), .success)
        XCTAssertEqual(index.received, ["version", "stats nodes", "quit"])
    }

    func testGenericReaderKeepsNotStoredAsPayloadAndStopsAtTerminators() throws {
        let server = try FakeFlareServer { line in
            switch line {
            case "first": return "NOT_STORED\r\nSTORED\r\n"
            case "second": return "EXISTS\r\n"
            default: return "SERVER_ERROR failed to set role (and balance)\r\n"
            }
        }
        defer { server.stop() }
        let connection = try FlareConnection(to: Endpoint(host: "127.0.0.1", port: server.port), peer: .indexServer)
        XCTAssertEqual(connection.serverVersion, ServerVersion(server: "flare", numbers: [1, 3, 4]))
        XCTAssertEqual(try connection.request("first"), .success(payload: ["NOT_STORED"]))
        XCTAssertEqual(try connection.request("second"), .failure(line: "EXISTS"))
        XCTAssertEqual(try connection.request("third"), .failure(line: "SERVER_ERROR failed to set role (and balance)"))
        connection.close()
        XCTAssertEqual(server.received, ["version", "first", "second", "third", "quit"])
    }

    func testQuitToAFlaredThatClosesWithoutReplyFinishesAtOnce() throws {
        let node = try FakeFlareServer(answersQuit: false) { _ in "OK\r\n" }
        defer { node.stop() }
        let client = FlareClient(connection: try FlareConnection(to: Endpoint(host: "127.0.0.1", port: node.port), peer: .node))
        XCTAssertTrue(try client.ping())
        let start = MonotonicClock.now()
        client.close()
        XCTAssertLessThan(MonotonicClock.now() - start, 0.9)
        XCTAssertEqual(node.received, ["version", "ping", "quit"])
    }

    func testSilentServerTimesOutWithAClearMessage() throws {
        let index = try FakeFlareServer { _ in "" }
        defer { index.stop() }
        let console = TestConsole()
        XCTAssertThrowsError(try ListOperation().run(console.session(index: index, requestTimeout: 0.3))) { error in
            XCTAssertEqual("\(error)", "index server 127.0.0.1:\(index.port) did not answer 'stats nodes' in time")
        }
    }

    func testServerErrorOnStatsNodesIsReported() throws {
        let index = try FakeFlareServer { _ in "ERROR\r\n" }
        defer { index.stop() }
        XCTAssertThrowsError(try ListOperation().run(TestConsole().session(index: index))) { error in
            XCTAssertEqual("\(error)", "unexpected reply from index server 127.0.0.1:\(index.port) to 'stats nodes': ERROR")
        }
    }

    func testListPrintsNodesInPartitionOrder() throws {
        let index = try FakeFlareServer { _ in
            statsNodesReply([("127.0.0.1:12121", "slave", "active", 0, 1, 16), ("127.0.0.2:12122", "master", "active", 0, 1, 18),
                             ("127.0.0.3:12123", "proxy", "active", -1, 0, 17)])
        }
        defer { index.stop() }
        let console = TestConsole()
        _ = try ListOperation().run(console.session(index: index))
        XCTAssertEqual(console.out.text, """
            node                             partition   role  state balance
            127.0.0.2:12122                          0 master active       1
            127.0.0.1:12121                          0  slave active       1
            127.0.0.3:12123                          -  proxy active       0

            """)
    }

    func testStatsTableCombinesIndexThreadsAndNodeStats() throws {
        let node = try FakeFlareServer(answersQuit: false) { _ in nodeStatsReply(items: 20, connections: 2, gets: 38, hits: 23, bytes: 529984) }
        defer { node.stop() }
        let nodeKey = "127.0.0.1:\(node.port)", deadKey = "127.0.0.1:1"
        let index = try FakeFlareServer { line in
            switch line {
            case "stats nodes": return statsNodesReply([(deadKey, "proxy", "down", -1, 0, 17), (nodeKey, "master", "active", 0, 1, 16)])
            case "stats threads":
                return ["STAT 4:type 16", "STAT 4:peer \(nodeKey)", "STAT 4:op ", "STAT 4:behind 0",
                        "STAT 6:type 17", "STAT 6:peer \(deadKey)", "STAT 6:op ping", "STAT 6:behind 3", "END"].map { $0 + "\r\n" }.joined()
            default: return "ERROR\r\n"
            }
        }
        defer { index.stop() }
        let console = TestConsole()
        XCTAssertEqual(try StatsOperation().run(console.session(index: index)), .success)
        XCTAssertEqual(index.requests, ["stats nodes", "stats threads"])
        // The active master is also asked for its replication threads (a slave's lag).
        XCTAssertEqual(node.requests, ["stats", "stats threads slave"])
        let rows = [
            ["hostname:port", "state", "role", "partition", "balance", "items", "conn", "behind", "hit", "size", "uptime", "version"],
            [deadKey, "down", "proxy", "-1", "0", "", "", "3", "", "", "", ""],
            [nodeKey, "active", "master", "0", "1", "20", "2", "0", "61", "0", "1m", "1.3.4"],
        ]
        var table = TextTable()
        for (number, row) in rows.enumerated() {
            table.append(row.enumerated().map { column, text in TableCell(text, number > 0 && column >= 3 ? .right : .left) })
        }
        XCTAssertEqual(console.out.text, table.render() + "\n")
        XCTAssertTrue(console.out.text.hasPrefix("hostname:port   state  role   partition"))
    }

    func testStatsRepeatsWithWaitAndFilter() throws {
        let node = try FakeFlareServer { _ in nodeStatsReply(items: 1) }
        defer { node.stop() }
        let nodeKey = "127.0.0.1:\(node.port)"
        let index = try FakeFlareServer { line in
            line == "stats nodes" ? statsNodesReply([(nodeKey, "master", "active", 0, 1, 16), ("127.0.0.1:1", "proxy", "down", -1, 0, 17)])
                : "STAT 4:peer \(nodeKey)\r\nSTAT 4:behind 0\r\nEND\r\n"
        }
        defer { index.stop() }
        let console = TestConsole()
        _ = try StatsOperation(wait: 5, count: 2, nodeFilter: [nodeKey]).run(console.session(index: index))
        XCTAssertEqual(console.pauses.seconds, [5])
        XCTAssertEqual(index.received, ["version", "stats nodes", "stats threads", "stats nodes", "stats threads", "quit"])
        let lines = console.out.text.split(separator: "\n")
        XCTAssertEqual(lines.count, 4)
        XCTAssertFalse(console.out.text.contains("127.0.0.1:1 "))
    }

    func testThreadsOfANode() throws {
        let node = try FakeFlareServer { _ in "STAT 2:type 1\r\nSTAT 2:peer 127.0.0.1:54916\r\nSTAT 2:op \r\nSTAT 2:queue 0\r\nEND\r\n" }
        defer { node.stop() }
        let index = try FakeFlareServer { _ in "ERROR\r\n" }
        defer { index.stop() }
        let console = TestConsole()
        _ = try ThreadsOperation(node: NodeAddress(host: "127.0.0.1", port: String(node.port))).run(console.session(index: index))
        XCTAssertEqual(node.received, ["version", "stats threads", "quit"])
        XCTAssertEqual(index.received, [])
        XCTAssertTrue(console.out.text.hasSuffix("    2 127.0.0.1:54916                  -                1        0\n"))
    }

    func testPingAliveAndDown() throws {
        let node = try FakeFlareServer(answersQuit: false) { _ in "OK\r\n" }
        defer { node.stop() }
        let index = try FakeFlareServer { _ in "ERROR\r\n" }
        defer { index.stop() }
        let alive = TestConsole()
        XCTAssertEqual(try PingOperation(nodes: [NodeAddress(host: "127.0.0.1", port: String(node.port))]).run(alive.session(index: index)), .success)
        XCTAssertEqual(alive.out.text, "alive\n")
        XCTAssertEqual(node.received, ["version", "ping", "quit"])
        let down = TestConsole()
        XCTAssertEqual(try PingOperation(nodes: [NodeAddress(host: "127.0.0.1", port: "1")]).run(down.session(index: index)), .failure)
        XCTAssertEqual(down.out.text, "127.0.0.1:1 is down\n")
    }

    func testDumpOfANodesPartitionInDefaultFormat() throws {
        let node = try FakeFlareServer { line in
            line == "dump 0 1 2 128" ? "VALUE b 2 2 1 1795309244\r\nBB\r\nVALUE c 3 3 1 0\r\nC\r\n\r\nEND\r\n" : "ERROR\r\n"
        }
        defer { node.stop() }
        let nodeKey = "127.0.0.1:\(node.port)"
        let index = try FakeFlareServer { _ in statsNodesReply([("127.0.0.9:12121", "master", "active", 0, 1, 16), (nodeKey, "master", "active", 1, 1, 17)]) }
        defer { index.stop() }
        let console = TestConsole()
        let source = DumpSource(address: NodeAddress(host: "127.0.0.1", port: String(node.port)), partition: nil)
        XCTAssertEqual(try DumpOperation(sources: [source], bitsPerSecond: 1 << 20).run(console.session(index: index)), .success)
        XCTAssertEqual(node.requests, ["dump 0 1 2 128"])
        XCTAssertEqual(console.out.text, "b 2 2 1 1795309244 'BB'\nc 3 3 1 0 'C\r\n'\n")
        XCTAssertEqual(console.err.text, "dumping from \(nodeKey)::1 of 2 partitions ... 2\n")
    }

    func testRawDumpAndRejectedDump() throws {
        let node = try FakeFlareServer { _ in "ERROR\r\n" }
        defer { node.stop() }
        let nodeKey = "127.0.0.1:\(node.port)"
        let index = try FakeFlareServer { _ in statsNodesReply([(nodeKey, "proxy", "active", -1, 0, 16)]) }
        defer { index.stop() }
        let console = TestConsole()
        let source = DumpSource(address: NodeAddress(host: "127.0.0.1", port: String(node.port)), partition: nil)
        XCTAssertEqual(try DumpOperation(sources: [source], raw: true).run(console.session(index: index)), .failure)
        XCTAssertEqual(node.requests, ["dump 0 0 1 0"])
        XCTAssertEqual(console.err.text, "dumping from \(nodeKey)::0 of 1 partitions ... 0\ndump from \(nodeKey) failed: ERROR\n")
    }

    func testDumpkeyRequestForms() throws {
        let node = try FakeFlareServer { _ in "KEY a\r\nKEY c\r\nEND\r\n" }
        defer { node.stop() }
        let index = try FakeFlareServer { _ in "ERROR\r\n" }
        defer { index.stop() }
        let address = NodeAddress(host: "127.0.0.1", port: String(node.port))
        let console = TestConsole()
        _ = try DumpKeyOperation(nodes: [address]).run(console.session(index: index))
        _ = try DumpKeyOperation(nodes: [address], partition: 0, partitionCount: 2).run(console.session(index: index))
        _ = try DumpKeyOperation(nodes: [address], partition: 1).run(console.session(index: index))
        XCTAssertEqual(node.requests, ["dump_key", "dump_key 0 2", "dump_key 1"])
        XCTAssertEqual(console.out.text, "a\nc\na\nc\na\nc\n")
    }

    func testIndexDocumentVersionIsNodeMapVersionPlusIncrement() throws {
        let index = try FakeFlareServer { line in
            line == "stats nodes" ? statsNodesReply([("127.0.0.1:12121", "master", "active", 0, 1, 16)])
                : "STAT pid 1\r\nSTAT node_map_version 3\r\nEND\r\n"
        }
        defer { index.stop() }
        let console = TestConsole()
        _ = try IndexOperation(increment: 2).run(console.session(index: index))
        XCTAssertEqual(index.requests, ["stats nodes", "stats"])
        XCTAssertTrue(console.out.text.contains("<version>5</version>\n"))
        XCTAssertTrue(console.out.text.contains("<thread_type>17</thread_type>\n"))
    }

    func testSummaryAddsUpMasters() throws {
        let master = try FakeFlareServer { _ in nodeStatsReply(items: 20, bytes: 1000) }
        defer { master.stop() }
        let index = try FakeFlareServer { _ in
            statsNodesReply([("127.0.0.1:\(master.port)", "master", "active", 0, 1, 16), ("127.0.0.1:2", "slave", "active", 0, 1, 17),
                             ("127.0.0.1:3", "proxy", "active", -1, 0, 18)])
        }
        defer { index.stop() }
        let console = TestConsole()
        _ = try SummaryOperation().run(console.session(index: index))
        XCTAssertEqual(master.requests, ["stats"])
        XCTAssertEqual(console.out.text.split(separator: "\n").last.map(String.init),
                       Printf.leftExact("127.0.0.1:\(index.port)", 30) + "     1     3      1     1            1000           20")
    }

    func testVerifyChecksKeysAndItemsOfEachPartition() throws {
        let node = try FakeFlareServer { line in
            switch line {
            case "dump_key 0 1": return "KEY a\r\nKEY b\r\nEND\r\n"
            case "dump 0 0 1 0": return "VALUE a 1 1 1 0\r\nA\r\nEND\r\n"
            default: return "ERROR\r\n"
            }
        }
        defer { node.stop() }
        let nodeKey = "127.0.0.1:\(node.port)"
        let index = try FakeFlareServer { _ in statsNodesReply([(nodeKey, "master", "active", 0, 1, 16), ("127.0.0.1:9", "proxy", "active", -1, 0, 17)]) }
        defer { index.stop() }
        let console = TestConsole()
        XCTAssertEqual(try VerifyOperation().run(console.session(index: index)), .success)
        XCTAssertEqual(node.requests, ["dump_key 0 1", "dump 0 0 1 0"])
        XCTAssertEqual(console.err.text, """
            key_hash_algorithm = simple
            partition_size: 1
            checking \(nodeKey) ... keydump ... 2 entries. dump ... 1 entries. OK
            OK

            """)
    }
}
