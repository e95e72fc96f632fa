@testable import FlareTools
import XCTest

/// Payload lines of a transcript reply (without the terminator line).
private func payload(_ reply: String) -> [String] {
    reply.components(separatedBy: "\r\n").filter { !$0.isEmpty && $0 != "END" }
}

final class ParserTests: XCTestCase {
    func testStatsNodesOfTheTutorialClusterWithOrders() throws {
        let reply = statsNodesReply([("127.0.0.1:12121", "slave", "active", 0, 1, 16), ("127.0.0.2:12122", "master", "active", 0, 1, 18),
                                     ("127.0.0.3:12123", "master", "active", 1, 1, 17), ("127.0.0.4:12124", "slave", "active", 1, 1, 19),
                                     ("127.0.0.5:12125", "proxy", "active", -1, 0, 20)])
        let map = try NodeStatMap(payload: payload(reply))
        XCTAssertEqual(map.nodes.map(\.key), ["127.0.0.1:12121", "127.0.0.2:12122", "127.0.0.3:12123", "127.0.0.4:12124", "127.0.0.5:12125"])
        XCTAssertEqual(map["127.0.0.2:12122"]?.role, "master")
        XCTAssertEqual(map["127.0.0.4:12124"]?.port, "12124")
        XCTAssertEqual(map["127.0.0.4:12124"]?.threadType, 19)
        XCTAssertEqual(map.partitionCount, 2)
        XCTAssertEqual(map.master(inPartition: 1)?.key, "127.0.0.3:12123")
        XCTAssertEqual(map.slaves(inPartition: 0).map(\.key), ["127.0.0.1:12121"])
        XCTAssertEqual(map.listOrder.map(\.key), ["127.0.0.2:12122", "127.0.0.1:12121", "127.0.0.3:12123", "127.0.0.4:12124", "127.0.0.5:12125"])
        XCTAssertEqual(map.statsOrder.map(\.key), ["127.0.0.5:12125", "127.0.0.2:12122", "127.0.0.1:12121", "127.0.0.3:12123", "127.0.0.4:12124"])
        XCTAssertEqual(map.masterKeys, ["127.0.0.2:12122", "127.0.0.3:12123"])
    }

    func testMalformedStatsNodesLineIsRejected() {
        XCTAssertThrowsError(try NodeStatMap(payload: ["STAT garbage"])) { error in
            XCTAssertEqual(error as? ReplyFormatError, ReplyFormatError(line: "STAT garbage"))
        }
    }

    func testReconstructability() throws {
        func map(_ nodes: [(String, String, String, Int, Int, Int)]) throws -> NodeStatMap { try NodeStatMap(payload: payload(statsNodesReply(nodes))) }
        let single = try map([("m:1", "master", "active", 0, 1, 16), ("s:1", "slave", "active", 0, 1, 17)])
        XCTAssertTrue(single.isReconstructable("m:1"))
        XCTAssertFalse(single.isSafelyReconstructable("m:1"))
        XCTAssertTrue(single.isReconstructable("s:1"))
        XCTAssertFalse(single.isSafelyReconstructable("s:1"))
        let double = try map([("m:1", "master", "active", 0, 1, 16), ("s:1", "slave", "active", 0, 1, 17), ("t:1", "slave", "active", 0, 0, 18)])
        XCTAssertTrue(double.isSafelyReconstructable("m:1"))
        XCTAssertTrue(double.isSafelyReconstructable("s:1"))
        let lonely = try map([("m:1", "master", "active", 0, 1, 16), ("s:1", "slave", "prepare", 0, 0, 17), ("p:1", "proxy", "active", -1, 0, 18)])
        XCTAssertFalse(lonely.isReconstructable("m:1"))
        XCTAssertFalse(lonely.isReconstructable("p:1"))
        XCTAssertFalse(lonely.isReconstructable("missing:1"))
    }

    func testStatsReplyOfTheIndex() {
        let stats = ServerStats(payload: ["STAT pid 5481", "STAT uptime 29", "STAT version 1.3.4", "STAT rusage_user 0.027692",
                                          "STAT node_map_version 3"])
        XCTAssertEqual(stats["version"], "1.3.4")
        XCTAssertEqual(stats.integer("node_map_version"), 3)
        XCTAssertEqual(stats.integer("missing"), 0)
    }

    func testThreadsKeepOnlyTheFirstValueWordAndMergeByPeer() throws {
        let table = try ThreadTable(payload: [
            "STAT 4:type 16", "STAT 4:peer 127.0.0.1:12121", "STAT 4:op ", "STAT 4:queue 0", "STAT 4:behind 0",
            "STAT 6:type 17", "STAT 6:peer 127.0.0.3:12123", "STAT 6:op node_sync", "STAT 6:behind 7",
            "STAT 9:peer 127.0.0.3:12123", "STAT 9:info two words", "STAT 9:queue 3",
        ])
        XCTAssertEqual(table.threads.map(\.id), ["4", "6", "9"])
        XCTAssertNil(table.threads[0]["op"])
        XCTAssertEqual(table.threads[2]["info"], "two")
        let byPeer = table.byPeer
        XCTAssertEqual(byPeer["127.0.0.1:12121"]?["behind"], "0")
        XCTAssertEqual(byPeer["127.0.0.3:12123"]?["behind"], "7")
        XCTAssertEqual(byPeer["127.0.0.3:12123"]?["queue"], "3")
        XCTAssertEqual(byPeer["127.0.0.3:12123"]?["op"], "node_sync")
    }

    func testMeta() {
        let meta = MetaInfo(payload: ["META partition-size 1024", "META key-hash-algorithm crc32", "META partition-type modular",
                                      "META partition-modular-hint 1", "META partition-modular-virtual 65536"])
        XCTAssertEqual(meta.keyHashAlgorithm, "crc32")
        XCTAssertEqual(meta.partitionModularHint, 1)
        XCTAssertEqual(meta.partitionModularVirtual, 65536)
        XCTAssertEqual(meta["partition-size"], "1024")
    }

    func testVersionReply() {
        let flare = ServerVersion(versionReply: "VERSION flare-1.3.4")
        XCTAssertEqual(flare, ServerVersion(server: "flare", numbers: [1, 3, 4]))
        XCTAssertTrue(flare.supportsThreadStats)
        XCTAssertEqual(ServerVersion(versionReply: "VERSION 1.0.9").numbers, [1, 0, 9])
        XCTAssertFalse(ServerVersion(versionReply: "VERSION 1.0.9").supportsThreadStats)
        XCTAssertEqual(ServerVersion(versionReply: "ERROR").numbers, [0, 0, 0])
        XCTAssertTrue(ServerVersion(server: "flare", numbers: [1, 0, 10]).supportsThreadStats)
    }

    func testTerminatorRules() {
        for line in ["OK", "END", "STORED", "DELETED", "NOT_FOUND"] { XCTAssertEqual(ReplyTerminator.classify(line), .success, line) }
        for line in ["EXISTS", "ERROR", "SERVER_ERROR failed to set role (and balance)", "CLIENT_ERROR thread not found"] {
            XCTAssertEqual(ReplyTerminator.classify(line), .failure, line)
        }
        for line in ["NOT_STORED", "STAT pid 1", "VALUE a 0 1", "ENDING", ""] { XCTAssertNil(ReplyTerminator.classify(line), line) }
    }

    func testRubyIntegerLeniency() {
        XCTAssertEqual(["12", "-1", "12a", "abc", "", " 7", "+3"].map(RubyNumber.integer), [12, -1, 12, 0, 0, 7, 3])
        XCTAssertEqual(RubyNumber.unsigned("18446744073709551615"), UInt64.max)
    }
}
