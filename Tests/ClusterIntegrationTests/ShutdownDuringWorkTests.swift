import FlareCluster
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM while background work uses the store: the node stops that work, waits for it, closes
/// the store cleanly and exits 0; the master it was copying from loses nothing, and the stopped
/// node serves again after a restart.
final class ShutdownDuringWorkTests: ClusterTestCase {
    private func waitForExit(_ daemon: Daemon, timeout: Double) -> Int32? {
        guard let process = daemon.process else { return nil }
        guard waitUntil(timeout: timeout, { !process.isRunning }) else { return nil }
        process.waitUntilExit()
        return process.terminationStatus
    }

    func testSigtermDuringSlaveConstruction() throws {
        // 2 ms per item: copying 2,000 items takes about 4 s, so the SIGTERM lands in the middle.
        try startCluster(nodes: [1, 2], nodeArguments: [2: ["--reconstruction-interval", "2000"]])
        try cluster.makeFirstMaster(1)
        let items = keyNames("sd-", 2000).map { (key: $0, value: "value-\($0)", flags: UInt32(0)) }
        XCTAssertEqual(try cluster.load(items, through: 1), [])
        let slave = cluster.node(2)
        XCTAssertEqual(try cluster.indexCommand("node role \(slave.host) \(slave.port) slave 1 0"), "OK")
        XCTAssertTrue(waitUntil(timeout: 10) { slave.daemon.log().contains("construction") || slave.daemon.log().contains("dump") },
                      slave.daemon.logTail())
        usleep(1_000_000)
        XCTAssertEqual((try? cluster.indexStatsNodes())?[slave.key]?.state, "prepare", "the copy was not in progress")
        slave.daemon.signal(SIGTERM)
        let status = waitForExit(slave.daemon, timeout: 15)
        XCTAssertEqual(status, 0, "flared did not exit cleanly after SIGTERM during a construction:\n\(slave.daemon.logTail())")
        let log = slave.daemon.log()
        XCTAssertTrue(log.contains("stopping background work: construction"), slave.daemon.logTail())
        XCTAssertTrue(log.contains("storage closed cleanly"), slave.daemon.logTail())
        // The master lost nothing and still serves.
        XCTAssertEqual(try cluster.client(1).dumpKey().count, 2000)
        // The stopped slave comes back and can be built again.
        try cluster.startNode(2, extra: ["--reconstruction-interval", "0"])
        XCTAssertTrue(waitUntil(timeout: 10) {
            guard let entry = try? self.cluster.indexStatsNodes()[slave.key] else { return false }
            return entry.state == "active" && entry.role == "proxy"
        }, cluster.mapsReport())
        XCTAssertEqual(try cluster.indexCommand("node role \(slave.host) \(slave.port) slave 1 0"), "OK")
        XCTAssertTrue(cluster.waitForIndex(2, role: "slave", state: "active", partition: 0, timeout: 20), cluster.mapsReport())
        XCTAssertEqual(try cluster.client(2).dumpKey().count, 2000)
    }

    /// SIGTERM while the master reclaims the keys that moved to a new partition: the reclaim stops
    /// between batches, the node exits 0, and after a restart every key of its own partition is
    /// there (only moved keys were dropped).
    func testSigtermDuringReclaim() throws {
        try startCluster(nodes: [1, 2])
        try cluster.makeFirstMaster(1)
        let keys = keyNames("rc-", 40_000)
        XCTAssertEqual(try cluster.load(keys.map { (key: $0, value: "v", flags: UInt32(0)) }, through: 1), [])
        let second = cluster.node(2)
        let grow = try cluster.admin("master", "\(second.host):\(second.port):1:1", "--force", "--activate", timeout: 120)
        XCTAssertEqual(grow.status, 0, "\(grow)")
        XCTAssertTrue(cluster.waitForMapsInSync([1, 2]), cluster.mapsReport())
        let resolver = try KeyResolver(algorithm: .simple, partitionSize: 1024, hint: 1, virtual: 4096)
        let own = Set(keys.filter { resolver.partition(of: $0, count: 2) == 0 })
        let master = cluster.node(1)
        let operator_ = try cluster.client(1, timeout: 10)
        try operator_.send("reclaim\r\n")
        usleep(20_000)   // the walk over 40,000 items with 20,000 to drop takes far longer
        master.daemon.signal(SIGTERM)
        let status = waitForExit(master.daemon, timeout: 30)
        XCTAssertEqual(status, 0, "flared did not exit cleanly after SIGTERM during a reclaim:\n\(master.daemon.logTail())")
        let log = master.daemon.log()
        XCTAssertTrue(log.contains("storage closed cleanly"), master.daemon.logTail())
        XCTAssertTrue(log.contains("stopping background work: reclaim of partition 0"),
                      "the SIGTERM did not find the reclaim running:\n\(master.daemon.logTail())")
        try cluster.startNode(1)
        XCTAssertTrue(cluster.waitForIndex(1, role: "master", state: "active", partition: 0, timeout: 15), cluster.mapsReport())
        let held = try cluster.client(1, timeout: 10).dumpKey()
        XCTAssertEqual(own.subtracting(held).count, 0, "keys of the master's own partition lost by the reclaim")
        XCTAssertTrue(held.isSubset(of: Set(keys)))
    }

    /// SIGTERM while a client reads a slow dump of a persistent store: a clean exit, and every item
    /// is there after a restart.
    func testSigtermDuringDump() throws {
        try startCluster(nodes: [1])
        try cluster.makeFirstMaster(1)
        let items = keyNames("dd-", 1000).map { (key: $0, value: "value-\($0)", flags: UInt32(0)) }
        XCTAssertEqual(try cluster.load(items, through: 1), [])
        let master = cluster.node(1)
        let reader = try cluster.client(1, timeout: 10)
        try reader.send("dump 5000\r\n")   // 5 ms per item: about 5 s
        _ = try reader.readLine("the first dumped item")
        master.daemon.signal(SIGTERM)
        let status = waitForExit(master.daemon, timeout: 15)
        XCTAssertEqual(status, 0, "flared did not exit cleanly after SIGTERM during a dump:\n\(master.daemon.logTail())")
        XCTAssertTrue(master.daemon.log().contains("storage closed cleanly"), master.daemon.logTail())
        try cluster.startNode(1)
        XCTAssertTrue(cluster.waitForIndex(1, role: "master", state: "active", partition: 0, timeout: 15), cluster.mapsReport())
        XCTAssertEqual(try cluster.client(1).dumpKey().count, 1000)
    }
}
