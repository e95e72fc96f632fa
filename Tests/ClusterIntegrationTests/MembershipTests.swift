import FlareCluster
import Foundation
import XCTest

/// 1. Registration of three nodes, the index's persistence, and an index restart.
final class MembershipTests: ClusterTestCase {
    func testRegistrationPersistenceAndIndexRestart() throws {
        try startCluster()
        let keys = [1, 2, 3].map { cluster.key($0) }

        // The index lists the three nodes as proxy/active with thread types 16, 17, 18.
        let indexMap = try cluster.indexStatsNodes()
        XCTAssertEqual(Set(indexMap.keys), Set(keys), indexMap.summary)
        for key in keys {
            let entry = try XCTUnwrap(indexMap[key])
            XCTAssertEqual(entry.role, "proxy", key)
            XCTAssertEqual(entry.state, "active", key)
            XCTAssertEqual(entry.partition, -1, key)
            XCTAssertEqual(entry.balance, 0, key)
        }
        XCTAssertEqual(indexMap.values.map(\.threadType).sorted(), [16, 17, 18], indexMap.summary)

        // Every node received the same map.
        XCTAssertTrue(cluster.waitForMapsInSync([1, 2, 3], timeout: 5), "node maps differ from the index's")
        for number in [1, 2, 3] {
            XCTAssertEqual(try cluster.nodeStatsNodes(number), indexMap, "stats nodes on node \(number)")
        }

        // flare.xml holds them, with the version the index reports.
        let version = try XCTUnwrap(cluster.indexClient().stats()["node_map_version"])
        let xmlText = try String(contentsOf: cluster.indexDataDir.appendingPathComponent("flare.xml"), encoding: .utf8)
        let saved = try FlareXML.decode(xmlText)
        XCTAssertEqual(String(saved.version), version, "flare.xml <version> vs stats node_map_version")
        XCTAssertEqual(saved.nextThreadType, 19, "flare.xml <thread_type>")
        XCTAssertEqual(saved.map.count, 3)
        for key in keys {
            let node = try XCTUnwrap(saved.map[nodeKey: key], "\(key) missing in flare.xml")
            XCTAssertEqual(node.role, .proxy, key)
            XCTAssertEqual(node.state, .active, key)
            XCTAssertEqual(node.partition, -1, key)
            XCTAssertEqual(node.balance, 0, key)
            XCTAssertEqual(node.threadType, indexMap[key]?.threadType, key)
            XCTAssertTrue(xmlText.contains("<first>\(key)</first>"), key)
        }

        // flare-admin list prints them, sorted by node key.
        let list = try cluster.admin("list")
        XCTAssertEqual(list.status, 0, "\(list)")
        let lines = list.output.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first?.split(separator: " "), ["node", "partition", "role", "state", "balance"], "\(list)")
        XCTAssertEqual(Array(lines.dropFirst()), keys.sorted().map { listLine($0, partition: -1, role: "proxy", state: "active", balance: 0) },
                       "\(list)")

        // kill -9 the index, restart it on the same data directory: same map, same version.
        try cluster.restartIndex()
        let afterRestart = try cluster.indexStatsNodes()
        XCTAssertEqual(afterRestart, indexMap, "map after index restart")
        XCTAssertEqual(try cluster.indexClient().stats()["node_map_version"], version, "node_map_version after restart")
        // Monitors were restarted: one per node in stats threads (flare-stats depends on it).
        let threads = try cluster.indexClient().call("stats threads")
        for key in keys {
            XCTAssertTrue(threads.contains { $0.hasSuffix(":peer \(key)") }, "no monitor thread for \(key) after restart")
        }
        // The nodes stay listed (they were never down).
        usleep(2_500_000)  // two monitor rounds
        XCTAssertEqual(try cluster.indexStatsNodes(), indexMap, "map changed after monitor rounds")

        // A change after the restart reaches every node.
        let first = cluster.node(1)
        XCTAssertEqual(try cluster.indexCommand("node role \(first.host) \(first.port) master 1 0"), "OK")
        for number in [1, 2, 3] {
            XCTAssertTrue(cluster.waitForView(of: number, 1, role: "master", state: "active", timeout: 5),
                          "node \(number) did not get the push after the index restart: \((try? cluster.nodeStatsNodes(number))?.summary ?? "?")")
        }
        XCTAssertEqual(try cluster.indexClient().stats()["node_map_version"], String(UInt64(version)! + 1))
        XCTAssertTrue(cluster.waitForMapsInSync([1, 2, 3], timeout: 5))
        for number in [1, 2, 3] {
            XCTAssertEqual(try cluster.client(number).stats()["node_map_version"], String(UInt64(version)! + 1), "node \(number)")
        }
        // And data goes through (node 1 is the master now).
        XCTAssertEqual(try cluster.client(3).store("set", "after-restart", "yes"), "STORED")
        XCTAssertEqual(try cluster.client(1).get("after-restart")?.value, "yes")
    }
}

final class OperatorDownTests: ClusterTestCase {
    /// An operator's `down` of a running node holds until the monitor's next ping, so a `remove`
    /// right after it succeeds (the original behaves so; a delivered push does not count as an answer).
    func testOperatorDownHoldsUntilTheNextPing() throws {
        try startCluster(nodes: [1, 2, 3])
        let second = cluster.node(2), third = cluster.node(3)
        XCTAssertEqual(try cluster.indexCommand("node state \(second.host) \(second.port) down"), "OK")
        usleep(300_000)  // the push that marks it down has long been delivered
        XCTAssertEqual(try cluster.indexStatsNodes()[second.key]?.state, "down", "a running node came back before a ping")
        XCTAssertTrue(cluster.waitForIndex(2, role: "proxy", state: "active", timeout: 5), "it did not come back on a ping: \(cluster.mapsReport())")

        XCTAssertEqual(try cluster.indexCommand("node state \(third.host) \(third.port) down"), "OK")
        XCTAssertEqual(try cluster.indexCommand("node remove \(third.host) \(third.port)"), "OK")
        XCTAssertNil(try cluster.indexStatsNodes()[third.key])
    }
}

/// flarei answers `quit` as the original does: it closes the connection without a reply (what came
/// before `quit` in the same write is answered); `quit` with an argument is an error and keeps it open.
final class IndexQuitTests: ClusterTestCase {
    func testQuitClosesWithoutAReply() throws {
        try startCluster(nodes: [])
        let client = try cluster.indexClient()
        try client.send("quit extra\r\n")
        XCTAssertEqual(try client.readLine(), "ERROR")
        try client.send("ping\r\nquit\r\n")
        XCTAssertEqual(try client.readToEnd(), "OK\r\n")
    }
}
