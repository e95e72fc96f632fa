import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A flared killed with kill -9 and restarted on its data directory before the index's monitor
/// counted enough failed pings: its `node add` is a restart, which the index treats as a failure
/// followed by a recovery (fail-over of a master, then the node comes back as a proxy).
final class FastRestartTests: ClusterTestCase {
    /// A monitor threshold the restart certainly beats (about 1 + 9 × 0.2 s of failed probes), so
    /// only `node add` can tell the index that the node restarted.
    private static let slowMonitor = ["--monitor-threshold", "10"]
    private static let sync = ["--replication-type", "sync"]

    /// Index + node 1 master, node 2 active slave of partition 0, node 3 proxy; all with sync
    /// replication; `keys` preloaded through node 3 and present on the slave.
    private func startReplicatedPair(keys: [String]) throws {
        try cluster.startIndex(extra: Self.slowMonitor)
        for number in [1, 2, 3] { try cluster.startNode(number, extra: Self.sync) }
        XCTAssertTrue(waitUntil(timeout: 10) {
            (try? cluster.indexStatsNodes())?.values.filter { $0.role == "proxy" && $0.state == "active" }.count == 3
        }, "nodes did not register: \(cluster.mapsReport())")
        try cluster.makeFirstMaster(1)
        let second = cluster.node(2)
        XCTAssertEqual(try cluster.indexCommand("node role \(second.host) \(second.port) slave 0 0"), "OK")
        XCTAssertTrue(cluster.waitForIndex(2, role: "slave", state: "active", partition: 0), "slave construction: \(cluster.mapsReport())")
        XCTAssertEqual(try cluster.indexCommand("node role \(second.host) \(second.port) slave 1 0"), "OK")
        XCTAssertTrue(cluster.waitForMapsInSync([1, 2, 3]), cluster.mapsReport())
        XCTAssertEqual(try cluster.load(keys.map { ($0, "initial:\($0)", UInt32(1)) }, through: 3), [])
        XCTAssertTrue(waitUntil(timeout: 5) { (try? cluster.client(2).dumpKey().count) == keys.count }, "slave did not get the preload")
    }

    /// Three writers through `number` on disjoint keys, started and making progress.
    private func startWriters(through number: Int, keys: [String]) -> [RecordingWriter] {
        let writers = (0..<3).map { part in
            RecordingWriter(host: cluster.node(number).host, port: cluster.node(number).port,
                            keys: keys.enumerated().filter { $0.offset % 3 == part }.map(\.element), pause: 0)
        }
        writers.forEach { $0.start() }
        for writer in writers {
            XCTAssertTrue(writer.waitForAcks(100), "writer makes no progress: \(writer.log.last?.reply ?? "")")
        }
        return writers
    }

    /// kill -9 of node `number`, then the same flared again on the same data directory and port.
    /// Returns when it was killed and how long it was away before the new process was started.
    private func killAndRestart(_ number: Int, extra: [String]) throws -> (killedAt: Double, gap: Double) {
        let node = cluster.node(number)
        let killedAt = now()
        node.daemon.kill9()
        let gap = now() - killedAt
        try cluster.startNode(number, extra: Self.sync + extra)
        return (killedAt, gap)
    }

    /// The index never marked the node down through its monitor: `node add` did it all.
    private func assertReadmittedOnRegistration(_ number: Int, as listed: String, file: StaticString = #filePath, line: UInt = #line) {
        let log = cluster.index.log(), key = cluster.key(number)
        XCTAssertFalse(log.contains("\(key) does not answer"),
                       "the monitor marked \(key) down: the restart was not fast enough to test `node add`", file: file, line: line)
        XCTAssertTrue(log.contains("\(key) registered again while listed as \(listed): its process restarted"),
                      "the index did not log the restart", file: file, line: line)
    }

    /// Waits until every writer has a successful write sent after `since`; reports and checks the
    /// recovery time of each.
    private func assertWritesRecover(_ writers: [RecordingWriter], since: Double, what: String) {
        for writer in writers {
            XCTAssertTrue(waitUntil(timeout: 10) { writer.log.contains { $0.sent > since + 0.05 && $0.ok } },
                          "\(what): no successful write after the restart: \(writer.log.last?.reply ?? "")")
        }
        writers.forEach { $0.waitForAcks(100) }
        writers.forEach { $0.stop() }
        for (number, writer) in writers.enumerated() {
            let recovery = writer.recoveryTime(since: since)
            // A write may also just wait (e.g. for a slave's confirmation) instead of failing.
            let longest = writer.log.filter { $0.finished >= since }.map { $0.finished - $0.sent }.max() ?? 0
            report(String(format: "%@, writer %d: writes succeed again %@ after kill -9 (%d failed writes in between, first: %@; longest write %.2f s)",
                          what, number, recovery.map { String(format: "%.2f s", $0.seconds) } ?? "never",
                          recovery?.failures ?? -1, recovery?.firstFailure ?? "none", longest))
            XCTAssertNotNil(recovery, "\(what): writes did not recover")
            if let recovery { XCTAssertLessThan(recovery.seconds, 10, "\(what): recovery took too long") }
        }
    }

    // MARK: master

    func testRestartedMasterIsFailedOverAndServesAsProxy() throws {
        try restartedMaster(rejoin: false)
    }

    func testRestartedMasterRejoinsAsSlave() throws {
        try restartedMaster(rejoin: true)
    }

    private func restartedMaster(rejoin: Bool) throws {
        let keys = keyNames("rm-", 300)
        try startReplicatedPair(keys: keys)
        let writers = startWriters(through: 3, keys: keys)
        let label = rejoin ? "restarted master, rejoin-as-slave" : "restarted master"

        let (killedAt, gap) = try killAndRestart(1, extra: rejoin ? ["--rejoin-as-slave", "true"] : [])
        XCTAssertLessThan(gap, 0.3, "restart not fast enough")
        let promoted = cluster.waitForIndex(2, role: "master", state: "active", partition: 0, timeout: 10)
        let promotedAfter = now() - killedAt
        XCTAssertTrue(promoted, "slave not promoted: \(cluster.mapsReport())")
        report(String(format: "%@: new process started %.3f s after kill -9; index promoted the slave %.2f s after kill -9",
                      label, gap, promotedAfter))
        assertWritesRecover(writers, since: killedAt, what: label)

        // With synchronous replication every acknowledged write survives on the new master.
        let onNewMaster = try cluster.client(2).values(of: keys)
        let problems = writers.flatMap { $0.verify(onNewMaster) }
        XCTAssertEqual(problems, [], "\(problems.count) acknowledged writes lost, e.g. \(problems.prefix(5))")

        if rejoin {
            let rejoined = cluster.waitForIndex(1, role: "slave", state: "active", partition: 0, timeout: 10)
            report(String(format: "%@: node 1 is an active slave of partition 0 %.2f s after kill -9", label, now() - killedAt))
            XCTAssertTrue(rejoined, "restarted master did not rejoin as a slave: \(cluster.mapsReport())")
            XCTAssertTrue(cluster.waitForMapsInSync([1, 2, 3]), cluster.mapsReport())
            // The writers have stopped; give the last replicated writes a bounded time.
            XCTAssertTrue(waitUntil(timeout: 5, interval: 0.2) { (try? cluster.client(1).dumpKey()) == (try? cluster.client(2).dumpKey()) },
                          "the rejoined slave's keys differ from the master's")
            let slaveDump = try cluster.client(1).dump(), masterDump = try cluster.client(2).dump()
            XCTAssertEqual(masterDump.count, keys.count, "the master's items")
            for key in keys.prefix(20) {
                XCTAssertEqual(slaveDump[key]?.value, masterDump[key]?.value, "\(key) on the rejoined slave")
            }
        } else {
            let readmitted = cluster.waitForIndex(1, role: "proxy", state: "active", timeout: 10)
            report(String(format: "%@: index lists node 1 proxy/active %.2f s after kill -9", label, now() - killedAt))
            XCTAssertTrue(readmitted, cluster.mapsReport())
            XCTAssertTrue(cluster.waitForView(of: 1, 1, role: "proxy", state: "active"), "node 1's own view: \(cluster.mapsReport())")
            XCTAssertTrue(cluster.waitForMapsInSync([1, 2, 3]), cluster.mapsReport())
            // Its restart fence is lifted and it proxies: reads see node 2's data, writes land there.
            let viaOne = try cluster.client(1).values(of: keys)
            XCTAssertEqual(keys.filter { viaOne[$0] != onNewMaster[$0] }, [], "reads through the restarted node")
            XCTAssertEqual(try cluster.client(1).store("set", "rm-via-1", "proxied", flags: 3), "STORED")
            XCTAssertEqual(try cluster.client(2).dump()["rm-via-1"]?.value, "proxied", "write through node 1 did not reach node 2")
        }
        assertReadmittedOnRegistration(1, as: "master/active")
    }

    // MARK: slave

    func testRestartedSlaveUnblocksSyncWrites() throws {
        try restartedSlave(rejoin: false)
    }

    func testRestartedSlaveRejoinsAndHoldsTheMastersData() throws {
        try restartedSlave(rejoin: true)
    }

    private func restartedSlave(rejoin: Bool) throws {
        let keys = keyNames("rs-", 300)
        try startReplicatedPair(keys: keys)
        let writers = startWriters(through: 1, keys: keys)
        let label = rejoin ? "restarted slave, rejoin-as-slave" : "restarted slave"

        let (killedAt, gap) = try killAndRestart(2, extra: rejoin ? ["--rejoin-as-slave", "true"] : [])
        XCTAssertLessThan(gap, 0.3, "restart not fast enough")
        report(String(format: "%@: new process started %.3f s after kill -9", label, gap))
        // Sync writes through the master stop waiting for the dead slave's acknowledgement.
        assertWritesRecover(writers, since: killedAt, what: label)
        XCTAssertEqual(try cluster.indexStatsNodes()[cluster.key(1)]?.role, "master", "the master keeps its role")

        if rejoin {
            let rejoined = cluster.waitForIndex(2, role: "slave", state: "active", partition: 0, timeout: 10)
            report(String(format: "%@: node 2 is an active slave again %.2f s after kill -9", label, now() - killedAt))
            XCTAssertTrue(rejoined, "restarted slave did not rejoin: \(cluster.mapsReport())")
            XCTAssertTrue(cluster.waitForMapsInSync([1, 2, 3]), cluster.mapsReport())
            let master = try cluster.client(1), slave = try cluster.client(2)
            // The writers have stopped; give the last replicated writes a bounded time.
            XCTAssertTrue(waitUntil(timeout: 5, interval: 0.2) { (try? master.dumpKey()) == (try? slave.dumpKey()) },
                          "the rejoined slave's keys differ from the master's")
            let masterDump = try master.dump(), slaveDump = try slave.dump()
            XCTAssertEqual(masterDump.count, keys.count)
            XCTAssertEqual(Set(slaveDump.keys), Set(masterDump.keys), "the rejoined slave's keys")
            for key in keys.prefix(30) {
                XCTAssertEqual(slaveDump[key]?.value, masterDump[key]?.value, "\(key) on the rejoined slave")
            }
            // And it keeps receiving writes.
            XCTAssertEqual(try master.store("set", "rs-after", "replicated", flags: 4), "STORED")
            XCTAssertEqual(try slave.dump()["rs-after"]?.value, "replicated", "a sync write after the rejoin is on the slave")
        } else {
            let readmitted = cluster.waitForIndex(2, role: "proxy", state: "active", timeout: 10)
            report(String(format: "%@: index lists node 2 proxy/active %.2f s after kill -9", label, now() - killedAt))
            XCTAssertTrue(readmitted, cluster.mapsReport())
            XCTAssertTrue(cluster.waitForMapsInSync([1, 2, 3]), cluster.mapsReport())
            let onMaster = try cluster.client(1).values(of: keys)
            XCTAssertEqual(writers.flatMap { $0.verify(onMaster) }, [], "acknowledged writes on the master")
            let viaTwo = try cluster.client(2).values(of: keys)
            XCTAssertEqual(keys.filter { viaTwo[$0] != onMaster[$0] }, [], "reads through the restarted node")
        }
        assertReadmittedOnRegistration(2, as: "slave/active")
    }
}
