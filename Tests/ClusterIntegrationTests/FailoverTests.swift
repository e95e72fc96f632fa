import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// 5. kill -9 of a master with an active slave, under a recording writer.
final class FailoverTests: ClusterTestCase {
    /// Synchronous replication: no acknowledged write may be lost.
    func testFailoverWithSyncReplicationLosesNothing() throws {
        let outcome = try failover(replicationType: "sync")
        XCTAssertEqual(outcome.lost.count, 0, "acknowledged writes lost with sync replication: \(outcome.lost.prefix(10))")
    }

    /// Asynchronous replication: losing the writes still queued for the slave is allowed; report how many.
    func testFailoverWithAsyncReplicationReportsLoss() throws {
        let outcome = try failover(replicationType: "async")
        report("async replication: \(outcome.lost.count) of \(outcome.acknowledged) acknowledged writes lost\(outcome.lost.isEmpty ? "" : ", e.g. \(outcome.lost.prefix(3))")")
    }

    struct Outcome {
        let lost: [String]
        let acknowledged: Int
    }

    private func failover(replicationType: String) throws -> Outcome {
        try startCluster(nodeArguments: [1: ["--replication-type", replicationType]])
        try cluster.makeFirstMaster(1)
        let first = cluster.node(1), second = cluster.node(2)
        XCTAssertEqual(try cluster.indexCommand("node role \(second.host) \(second.port) slave 0 0"), "OK")
        XCTAssertTrue(cluster.waitForIndex(2, role: "slave", state: "active", partition: 0), "slave construction")
        XCTAssertEqual(try cluster.indexCommand("node role \(second.host) \(second.port) slave 1 0"), "OK")
        XCTAssertTrue(cluster.waitForMapsInSync([1, 2, 3]), cluster.mapsReport())

        let keys = keyNames("fo-", 300)
        XCTAssertEqual(try cluster.load(keys.map { ($0, "initial:\($0)", UInt32(1)) }, through: 3), [])
        XCTAssertTrue(waitUntil(timeout: 5) { (try? cluster.client(2).dumpKey().count) == keys.count }, "slave did not get the preload")

        // Three writers through node 3 on disjoint keys, as fast as the cluster answers.
        let writers = (0..<3).map { part in
            RecordingWriter(host: cluster.node(3).host, port: cluster.node(3).port,
                            keys: keys.enumerated().filter { $0.offset % 3 == part }.map(\.element), pause: 0)
        }
        writers.forEach { $0.start() }
        for writer in writers {
            XCTAssertTrue(writer.waitForAcks(200), "writer makes no progress: \(writer.log.last?.reply ?? "")")
        }

        let killedAt = now()
        first.daemon.kill9()
        let promoted = cluster.waitForIndex(2, role: "master", state: "active", partition: 0, timeout: 15)
        let promotedAfter = now() - killedAt
        XCTAssertTrue(promoted, "slave not promoted: \(cluster.mapsReport())")
        XCTAssertTrue(cluster.waitForIndex(1, role: "proxy", state: "down", timeout: 5), cluster.mapsReport())

        // Writes through node 3 succeed again (bounded), then keep going for a while.
        for writer in writers {
            let recovered = waitUntil(timeout: 15) { writer.log.contains { $0.sent > killedAt + promotedAfter && $0.ok } }
            XCTAssertTrue(recovered, "no successful write after the fail-over: \(writer.log.last?.reply ?? "")")
        }
        writers.forEach { $0.waitForAcks(200) }
        writers.forEach { $0.stop() }
        for (number, writer) in writers.enumerated() {
            let recovery = writer.recoveryTime(since: killedAt)
            report(String(format: "%@ replication, writer %d: index promoted the slave %.2f s after kill -9; writes through node 3 succeed again after %@ (%d failed writes in between, first: %@)",
                          replicationType, number, promotedAfter, recovery.map { String(format: "%.2f s", $0.seconds) } ?? "never",
                          recovery?.failures ?? -1, recovery?.firstFailure ?? "none"))
            XCTAssertNotNil(recovery, "writes did not recover")
            if let recovery { XCTAssertLessThan(recovery.seconds, 5, "fail-over took too long") }
        }

        // After the fail-over every node sees node 2 as the master.
        XCTAssertTrue(cluster.waitForMapsInSync([2, 3]), cluster.mapsReport())

        // Every acknowledged write is readable, through the new master and through the proxy.
        var lost: [String] = []
        for number in [2, 3] {
            let values = try cluster.client(number).values(of: keys)
            let problems = writers.flatMap { $0.verify(values) }
            if number == 2 { lost = problems }
            if replicationType == "sync" {
                XCTAssertEqual(problems, [], "node \(number): \(problems.count) problems, e.g. \(problems.prefix(5))")
            }
        }
        // The survivors agree.
        XCTAssertEqual(try cluster.client(3).values(of: keys), try cluster.client(2).values(of: keys), "node 3 vs node 2 reads")
        return Outcome(lost: lost, acknowledged: writers.map(\.acknowledgedCount).reduce(0, +))
    }
}

/// 6. A stopped (not killed) master is failed over too, and comes back as a proxy.
final class StoppedMasterTests: ClusterTestCase {
    func testStoppedMasterIsFailedOverAndReturnsAsProxy() throws {
        try startCluster()
        try cluster.makeFirstMaster(1)
        let first = cluster.node(1), second = cluster.node(2)
        XCTAssertEqual(try cluster.indexCommand("node role \(second.host) \(second.port) slave 0 0"), "OK")
        XCTAssertTrue(cluster.waitForIndex(2, role: "slave", state: "active", partition: 0), "slave construction")
        XCTAssertEqual(try cluster.indexCommand("node role \(second.host) \(second.port) slave 1 0"), "OK")
        XCTAssertTrue(cluster.waitForMapsInSync([1, 2, 3]), cluster.mapsReport())

        let keys = keyNames("st-", 100)
        XCTAssertEqual(try cluster.load(keys.map { ($0, "old:\($0)", UInt32(1)) }, through: 3), [])
        XCTAssertTrue(waitUntil(timeout: 5) { (try? cluster.client(2).dumpKey().count) == keys.count }, "slave did not get the preload")

        let stoppedAt = now()
        first.daemon.signal(SIGSTOP)
        // A write through node 3 forwarded to the stopped master before anyone noticed. Its outcome
        // is measured; if it is acknowledged it must be in the cluster afterwards.
        let (proxyHost, proxyPort) = (cluster.node(3).host, cluster.node(3).port)
        let earlyOutcome = OutcomeBox()
        let early = Thread {
            let started = now()
            var outcome: String
            do {
                outcome = try TestClient(host: proxyHost, port: proxyPort, timeout: 8).store("set", "st-early", "early") ?? "-"
            } catch {
                outcome = "\(error)"
            }
            earlyOutcome.set(outcome)
            print(String(format: "[ClusterIntegrationTests] SIGSTOP: a write through node 3 sent right after the stop: %@ after %.2f s", outcome, now() - started))
        }
        early.start()
        let promoted = cluster.waitForIndex(2, role: "master", state: "active", partition: 0, timeout: 15)
        report(String(format: "SIGSTOP: index promoted the slave after %.2f s", now() - stoppedAt))
        XCTAssertTrue(promoted, "slave not promoted while the master is stopped: \(cluster.mapsReport())")
        XCTAssertTrue(cluster.waitForIndex(1, role: "proxy", state: "down", timeout: 5), cluster.mapsReport())

        // New values through node 3 reach the new master (bounded; retried on fresh connections).
        let updated = Array(keys.prefix(50))
        var pending = Set(updated)
        let writesDone = waitUntil(timeout: 10, interval: 0.1) {
            guard let client = try? cluster.client(3, timeout: 2) else { return false }
            for key in pending.sorted() {
                guard (try? client.store("set", key, "new:\(key)", flags: 2)) == "STORED" else { return false }
                pending.remove(key)
            }
            return true
        }
        report(String(format: "SIGSTOP: writes through node 3 all succeeded %.2f s after the stop", now() - stoppedAt))
        XCTAssertTrue(writesDone, "writes through node 3 still failing while the old master is stopped: \(pending.count) left")
        func expected(_ key: String) -> String { updated.contains(key) ? "new:\(key)" : "old:\(key)" }
        let viaThree = try cluster.client(3).values(of: keys)
        XCTAssertEqual(keys.filter { viaThree[$0] != .some(expected($0)) }, [], "reads through node 3 while node 1 is stopped")

        // Resume the old master. From the first request on, it must not answer as a master with
        // its stale copy. (Known to fail intermittently: on resume the node serves the requests
        // already in its sockets, and new ones, with its old map until the buffered `node sync`
        // of the fail-over has been applied on every worker; there is no lease.)
        let resumedAt = now()
        first.daemon.signal(SIGCONT)
        var staleReads: [String] = []
        var earlyReads = 0
        var sawItselfProxy = false
        while now() < resumedAt + 10 {
            if let client = try? cluster.client(1, timeout: 2) {
                if let items = try? client.get(Array(updated.prefix(10))) {
                    earlyReads += 1
                    for (key, item) in items where item.value != expected(key) { staleReads.append("\(key)=\(item.value)") }
                }
                if let view = try? client.statsNodes(), view[first.key]?.role == "proxy", view[first.key]?.state == "active",
                   view[second.key]?.role == "master" {
                    sawItselfProxy = true
                    break
                }
            }
            usleep(20_000)
        }
        report(String(format: "SIGCONT: node 1 sees itself proxy/active after %.2f s; %d reads meanwhile, %d stale values",
                      now() - resumedAt, earlyReads, staleReads.count))
        XCTAssertTrue(sawItselfProxy, "node 1 never saw itself as proxy/active: \(cluster.mapsReport())")
        XCTAssertEqual(staleReads, [], "the resumed old master served stale values")
        XCTAssertTrue(cluster.waitForIndex(1, role: "proxy", state: "active", timeout: 5), cluster.mapsReport())
        XCTAssertEqual(try cluster.indexStatsNodes()[second.key]?.role, "master")
        XCTAssertTrue(cluster.waitForMapsInSync([1, 2, 3]), cluster.mapsReport())

        // As a proxy it forwards: reads return the new master's data, writes land on node 2.
        let viaOne = try cluster.client(1).values(of: keys)
        XCTAssertEqual(keys.filter { viaOne[$0] != .some(expected($0)) }, [], "reads through the old master after it came back")
        XCTAssertEqual(try cluster.client(1).store("set", "st-0", "final", flags: 9), "STORED")
        XCTAssertEqual(try cluster.client(2).dump()["st-0"]?.value, "final", "write through the old master did not reach node 2")

        // The early write: acknowledged means durable (on the new master, readable everywhere).
        XCTAssertTrue(waitUntil(timeout: 10) { earlyOutcome.value != nil }, "the early write never finished")
        if earlyOutcome.value == "STORED" {
            XCTAssertEqual(try cluster.client(2).dump()["st-early"]?.value, "early", "acknowledged early write missing on the new master")
            for number in [1, 2, 3] {
                XCTAssertEqual(try cluster.client(number).get("st-early")?.value, "early", "acknowledged early write via node \(number)")
            }
        }
    }
}

/// A value set by another thread.
final class OutcomeBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: String?
    func set(_ value: String) { lock.lock(); stored = value; lock.unlock() }
    var value: String? { lock.lock(); defer { lock.unlock() }; return stored }
}
