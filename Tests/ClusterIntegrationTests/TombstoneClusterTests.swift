import Foundation
import Synchronization
import XCTest

/// Deletes leave tombstones stored with the data (`tombstone-retention`), so an older copy of a
/// deleted key that arrives late is refused however many other keys were deleted meanwhile — the
/// in-memory delete cache here holds 16 keys — and after a slave's restart.
final class TombstoneClusterTests: ClusterTestCase {
    private let tinyCache = ["--storage-cache-size", "16"]

    /// Master and slave hold the same items (values, flags, expiries and versions).
    private func assertCopiesIdentical(file: StaticString = #filePath, line: UInt = #line) -> [String: DumpedItem] {
        var master: [String: DumpedItem] = [:], slave: [String: DumpedItem] = [:]
        let same = waitUntil(timeout: 10, interval: 0.2) {
            guard let m = try? cluster.client(1, timeout: 10).dump(), let s = try? cluster.client(2, timeout: 10).dump() else { return false }
            master = m
            slave = s
            return m == s
        }
        let differing = Set(master.keys).union(slave.keys).filter { master[$0] != slave[$0] }.sorted()
        XCTAssertTrue(same, "master and slave differ on \(differing.count) keys, e.g. " +
                      differing.prefix(5).map { "\($0): master \(master[$0]?.description ?? "absent"), slave \(slave[$0]?.description ?? "absent")" }.joined(separator: "; "),
                      file: file, line: line)
        return slave
    }

    /// The slave copies the partition by `dump` (paced, so the copy takes a while) while a client
    /// deletes 400 of its keys on the master. A delete that reaches the slave before the dump
    /// brings the key's older copy must keep refusing it, although 400 deletes went through a
    /// 16-key cache.
    func testASlaveBuiltWhileAClientDeletesEndsWithoutTheDeletedKeys() throws {
        try startCluster(nodes: [1, 2], nodeArguments: [1: tinyCache, 2: tinyCache + ["--reconstruction-interval", "400"]])
        try cluster.makeFirstMaster(1)
        let keys = keyNames("tomb-", 1500)
        XCTAssertEqual(try cluster.load(keys.map { (key: $0, value: "value of \($0)", flags: UInt32(3)) }, through: 1), [])
        let victims = Array(keys.shuffled().prefix(400))

        let progress = DeleteProgress()
        let (host, port) = (cluster.node(1).host, cluster.node(1).port)
        let deleter = Thread {
            do {
                let client = try TestClient(host: host, port: port, timeout: 5)
                for key in victims {
                    let reply = try client.delete(key)
                    progress.state.withLock { state in
                        if reply == "DELETED" { state.deleted += 1 } else { state.failures.append("\(key): \(reply ?? "-")") }
                    }
                    usleep(4000)
                }
            } catch {
                progress.state.withLock { $0.failures.append("deleter: \(error)") }
            }
            progress.state.withLock { $0.finished = true }
        }
        deleter.start()
        XCTAssertTrue(waitUntil(timeout: 10) { progress.state.withLock { $0.deleted } >= 20 }, "the deleter makes no progress")
        let slave = cluster.node(2)
        XCTAssertEqual(try cluster.indexCommand("node role \(slave.host) \(slave.port) slave 1 0"), "OK")
        XCTAssertTrue(cluster.waitForIndex(2, role: "slave", state: "active", partition: 0, timeout: 30), cluster.mapsReport())
        let deletedWhenActive = progress.state.withLock { $0.deleted }
        report("\(deletedWhenActive) of 400 keys deleted when the slave became active")
        XCTAssertLessThan(deletedWhenActive, 400, "the deletes should overlap the copy")
        XCTAssertTrue(waitUntil(timeout: 30) { progress.state.withLock { $0.finished } }, "the deleter did not finish")
        XCTAssertEqual(progress.state.withLock { $0.failures }, [])

        let slaveItems = assertCopiesIdentical()
        XCTAssertEqual(slaveItems.count, 1100)
        let back = victims.filter { slaveItems[$0] != nil }
        XCTAssertEqual(back.count, 0, "deleted keys back on the slave: \(back.prefix(5))")
        let served = try cluster.client(2).get(victims)
        XCTAssertEqual(served.count, 0, "the slave serves deleted keys: \(served.keys.prefix(5))")
    }

    /// A slave killed with SIGKILL and restarted on the same data (rejoining as a slave) still holds
    /// the tombstones of the keys deleted before its restart: copies older than those deletes,
    /// offered again by its master as a reconnecting stream would, are refused.
    func testARestartedSlaveRefusesResentCopiesOlderThanItsTombstones() throws {
        let slaveArguments = tinyCache + ["--rejoin-as-slave", "true"]
        try startCluster(nodes: [1, 2], nodeArguments: [1: tinyCache + ["--replication-type", "sync"], 2: slaveArguments])
        try cluster.makeFirstMaster(1)
        let slave = cluster.node(2)
        XCTAssertEqual(try cluster.indexCommand("node role \(slave.host) \(slave.port) slave 1 0"), "OK")
        XCTAssertTrue(cluster.waitForIndex(2, role: "slave", state: "active", partition: 0), cluster.mapsReport())
        XCTAssertTrue(waitUntil(timeout: 5) { (try? cluster.client(1).store("set", "probe", "1")) == "STORED" }, "the master takes no writes")

        // 300 keys written and then deleted (sync: the slave has applied each), remembering the
        // version of each key's last set.
        let keys = keyNames("gone-", 300)
        let master = try cluster.client(1, timeout: 10)
        var setVersions: [String: UInt64] = [:]
        for key in keys {
            XCTAssertEqual(try master.store("set", key, "old \(key)"), "STORED")
            setVersions[key] = try XCTUnwrap(try master.get([key], command: "gets")[key]?.cas)
        }
        for key in keys { XCTAssertEqual(try master.delete(key), "DELETED") }
        XCTAssertEqual(try master.store("set", "kept", "v"), "STORED")
        _ = assertCopiesIdentical()
        XCTAssertTrue(waitUntil(timeout: 3) { FileManager.default.fileExists(atPath: slave.dataDir.appendingPathComponent("flared.applied").path) })

        slave.daemon.kill9()
        XCTAssertTrue(cluster.waitForIndex(2, role: "slave", state: "down", timeout: 10) || cluster.waitForIndex(2, role: "proxy", state: "down", timeout: 1),
                      "the index marks the killed slave down: \(cluster.mapsReport())")
        try cluster.startNode(2, extra: slaveArguments)
        XCTAssertTrue(cluster.waitForIndex(2, role: "slave", state: "active", partition: 0, timeout: 30),
                      "the restarted slave did not become active: \(cluster.mapsReport())")
        XCTAssertTrue(cluster.waitForMapsInSync([1, 2]), cluster.mapsReport())
        let replication = try cluster.client(2).call("stats replication")
        XCTAssertTrue(replication.contains("STAT tombstone_retention 3600"), "\(replication)")
        let tombstones = replication.first { $0.hasPrefix("STAT tombstones ") }.flatMap { Int($0.split(separator: " ")[2]) }
        XCTAssertGreaterThanOrEqual(tombstones ?? 0, keys.count, "the slave's tombstones survived the restart: \(replication)")

        // The master's old copies again, stamped as the master's stream stamps them.
        let stats = try cluster.client(1).call("stats")
        let mapVersion = try XCTUnwrap(stats.first { $0.hasPrefix("STAT node_map_version ") }.flatMap { UInt64($0.split(separator: " ")[2]) })
        let copies = try cluster.client(2, timeout: 10)
        var replies: [String: Int] = [:]
        for key in keys {
            let value = Array("old \(key)".utf8)
            let header = "<\(cluster.key(1))@\(mapVersion)>set \(key) 0 0 \(value.count) \(setVersions[key]!)\r\n"
            try copies.send(Array(header.utf8) + value + [0x0D, 0x0A])
            replies[try copies.readLine("reply to the copy of \(key)"), default: 0] += 1
        }
        XCTAssertEqual(replies, ["NOT_STORED": keys.count], "a copy older than the tombstone is superseded")
        let slaveItems = assertCopiesIdentical()
        XCTAssertEqual(Set(slaveItems.keys), ["probe", "kept"])
        XCTAssertEqual(try cluster.client(2).get(keys).count, 0)
    }

    /// With a one-second retention, the daemon's sweeper purges tombstones nobody reads again.
    func testTheSweeperPurgesTombstonesAfterTheirRetention() throws {
        try startCluster(nodes: [1], nodeArguments: [1: ["--tombstone-retention", "1"]])
        try cluster.makeFirstMaster(1)
        let client = try cluster.client(1)
        for key in keyNames("swept-", 50) {
            XCTAssertEqual(try client.store("set", key, "v"), "STORED")
            XCTAssertEqual(try client.delete(key), "DELETED")
        }
        func tombstones() -> Int? {
            let lines = try? cluster.client(1).call("stats replication")
            return lines?.first { $0.hasPrefix("STAT tombstones ") }.flatMap { Int($0.split(separator: " ")[2]) }
        }
        XCTAssertEqual(tombstones(), 50)
        XCTAssertTrue(waitUntil(timeout: 10, interval: 0.2) { tombstones() == 0 }, "tombstones left: \(tombstones() ?? -1)")
        XCTAssertTrue(cluster.node(1).daemon.log().contains("tombstones older than 1 s"), cluster.node(1).daemon.logTail())
    }
}

private final class DeleteProgress: Sendable {
    let state = Mutex((deleted: 0, finished: false, failures: [String]()))
}
