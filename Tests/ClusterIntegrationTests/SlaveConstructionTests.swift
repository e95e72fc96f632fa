import Foundation
import XCTest

/// 4. A slave is built with flare-admin while the master keeps taking writes.
final class SlaveConstructionTests: ClusterTestCase {
    func testSlaveConstructionUnderLoad() throws {
        // The slave paces its dump (200 µs per item: 0.4 s for 2,000 items by the spec; timer resolution makes it longer) so that live
        // writes certainly interleave with the copy.
        try startCluster(nodeArguments: [2: ["--reconstruction-interval", "200"]])
        try cluster.makeFirstMaster(1)

        let items = keyNames("item-", 2000).enumerated().map { index, key in
            (key: key, value: "\(key):" + String(repeating: Character(UnicodeScalar(97 + index % 26)!), count: 20 + index % 300),
             flags: UInt32(index))
        }
        XCTAssertEqual(try cluster.load(items, through: 3), [])
        XCTAssertEqual(try cluster.client(1).dumpKey().count, 2000)

        let writer = RecordingWriter(host: cluster.node(3).host, port: cluster.node(3).port,
                                     keys: keyNames("item-", 300) + keyNames("new-", 200), pause: 0.001)
        writer.start()
        XCTAssertTrue(writer.waitForAcks(100), "writer makes no progress: \(writer.log.last?.reply ?? "")")

        let second = cluster.node(2)
        let started = now()
        let admin = try cluster.admin("slave", "\(second.host):\(second.port):1:0", "--force", timeout: 60)
        report(String(format: "flare-admin slave took %.1f s", now() - started))
        XCTAssertEqual(admin.status, 0, "\(admin)")
        XCTAssertTrue(cluster.waitForIndex(2, role: "slave", state: "active", partition: 0, timeout: 5),
                      "index: \((try? cluster.indexStatsNodes())?.summary ?? "?")")
        XCTAssertEqual(try cluster.indexStatsNodes()[second.key]?.balance, 1, "balance set by flare-admin after construction")
        XCTAssertTrue(admin.output.contains(listLine(second.key, partition: 0, role: "slave", state: "active", balance: 1)), "\(admin)")

        let acksStarted = now()
        XCTAssertTrue(writer.waitForAcks(200), "writer makes no progress after construction")
        report(String(format: "200 more writes after construction took %.2f s", now() - acksStarted))
        writer.stop()
        report("writer: \(writer.acknowledgedCount) acknowledged, \(writer.failedCount) failed")
        XCTAssertEqual(writer.failedCount, 0, "writes failed during slave construction: \(writer.log.filter { !$0.ok }.prefix(3).map(\.reply))")

        // Replication is asynchronous: give the last writes a bounded time to reach the slave.
        let master = try cluster.client(1, timeout: 10)
        let slave = try cluster.client(2, timeout: 10)
        var masterDump = try master.dump()
        var slaveDump = try slave.dump()
        let convergeStarted = now()
        let converged = waitUntil(timeout: 5, interval: 0.2) {
            guard let m = try? master.dump(), let s = try? slave.dump() else { return false }
            masterDump = m
            slaveDump = s
            return m == s
        }
        report(String(format: "slave equal to the master %.2f s after the writer stopped", now() - convergeStarted))
        XCTAssertTrue(converged, "slave never converged to the master")
        XCTAssertEqual(masterDump.count, 2000 + 200, "master item count")
        XCTAssertEqual(Set(slaveDump.keys).symmetricDifference(masterDump.keys).sorted().prefix(10), [], "key sets differ")
        var differing: [String] = []
        for (key, item) in masterDump.sorted(by: { $0.key < $1.key }) where slaveDump[key] != item {
            differing.append("\(key): master \(item) slave \(slaveDump[key].map(String.init(describing:)) ?? "missing")")
        }
        XCTAssertEqual(differing.count, 0, "items differ between master and slave: \(differing.prefix(5))")

        // The cluster returns the acknowledged values, also through the slave (it serves reads now).
        for number in [1, 2, 3] {
            let problems = writer.verify(try cluster.client(number).values(of: writer.writtenKeys))
            XCTAssertEqual(problems, [], "node \(number): \(problems.prefix(5))")
        }
        let untouched = items.filter { writer.snapshot[$0.key] == nil }
        for item in untouched {
            guard let copy = slaveDump[item.key] else { continue }
            XCTAssertEqual(copy.value, item.value, item.key)
            XCTAssertEqual(copy.flags, item.flags, item.key)
        }
    }
}
