import Foundation
import XCTest

/// Cluster-control input from where it must not come, or with numbers out of range: a node obeys
/// `node sync` only from its index servers' addresses, and the index refuses node entries that
/// would break every node's map. flare-admin and flare-stats keep working throughout.
final class ClusterControlTests: ClusterTestCase {
    /// A client on another host (127.0.0.5 here) pushes a map with the largest version: refused,
    /// logged, the connection stays in step, and the index's later pushes are still applied.
    func testNodeSyncIsObeyedOnlyFromTheIndexServers() throws {
        try startCluster(nodes: [1, 2])
        try cluster.makeFirstMaster(1)
        let node = cluster.node(1)
        let versionBefore = try cluster.client(1).stats()["node_map_version"]

        let intruder = try TestClient(host: node.host, port: node.port, from: "127.0.0.5")
        try intruder.send("node sync 9223372036854775807\r\nNODE 127.0.0.5 1 0 2 0 1 0\r\nEND\r\n")
        let reply = try intruder.readLine()
        XCTAssertTrue(reply.hasPrefix("SERVER_ERROR node sync refused: 127.0.0.5:") && reply.hasSuffix("is not an index server of this node"), reply)
        XCTAssertTrue(try intruder.line("version").hasPrefix("VERSION"), "the pushed NODE lines were run as commands")
        XCTAssertTrue(waitUntil(timeout: 5) { node.daemon.log().contains("refused node sync 9223372036854775807 from 127.0.0.5:") },
                      node.daemon.logTail())
        XCTAssertEqual(try cluster.client(1).stats()["node_map_version"], versionBefore, "the refused map was installed")
        XCTAssertEqual(try intruder.store("set", "k", "v"), "STORED", "node 1 no longer serves as master")

        // A genuine push after the refused one is applied: the node was not made to ignore it.
        let slave = cluster.node(2)
        XCTAssertEqual(try cluster.indexCommand("node role \(slave.host) \(slave.port) slave 1 0"), "OK")
        XCTAssertTrue(cluster.waitForMapsInSync([1, 2]), cluster.mapsReport())

        // The operator's tools talk to the index and the nodes as before.
        let list = try cluster.admin("list")
        XCTAssertEqual(list.status, 0, list.description)
        XCTAssertTrue(list.output.contains(slave.key), list.description)
        let stats = try cluster.tool("flare-stats", [])
        XCTAssertEqual(stats.status, 0, stats.description)
        XCTAssertTrue(stats.output.contains(node.key), stats.description)
    }

    /// Node entries with numbers no node can use are refused with the original's `ERROR`, so they
    /// never reach the map that every node parses.
    func testIndexRefusesOutOfRangeNumbers() throws {
        try startCluster(nodes: [1])
        try cluster.makeFirstMaster(1)
        let node = cluster.node(1)
        let before = try cluster.indexStatsNodes()
        let index = try cluster.indexClient()
        for line in ["node add evil 99999", "node add evil -1", "node add evil 9223372036854775807", "node add evil,x 12121",
                     "node add evil:x 12121", "node add <evil> 12121",
                     "node role \(node.host) \(node.port) master 9223372036854775807 0",
                     "node role \(node.host) \(node.port) master 1 2147483648",
                     "node state \(node.host) 99999999999999999999 active", "node remove \(node.host) 65536",
                     "shutdown \(node.host) 9223372036854775807", "lease \(node.host) 70000 100",
                     "verbosity 9223372036854775807", "kill -1"] {
            XCTAssertEqual(try index.line(line), "ERROR", line)
        }
        XCTAssertEqual(try index.line("lease \(node.host) \(node.port) 9223372036854775807"), "CLIENT_ERROR lease length out of range")
        XCTAssertEqual(try cluster.indexStatsNodes(), before, "a refused command changed the map")
        // The node still takes the index's pushes.
        try cluster.startNodes([2])
        XCTAssertTrue(cluster.waitForMapsInSync([1, 2]), cluster.mapsReport())
    }
}
