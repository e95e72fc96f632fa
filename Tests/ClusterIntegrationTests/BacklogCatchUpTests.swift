import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A slave killed with SIGKILL while writes go on, restarted with `rejoin-as-slave`: it catches up
/// from its master's replication backlog instead of copying the whole partition — or, when the
/// backlog does not reach back far enough, falls back to the full copy. Either way the two copies
/// end identical, deleted keys included.
final class BacklogCatchUpTests: ClusterTestCase {
    private let slaveArguments = ["--rejoin-as-slave", "true"]

    /// Node 1 masters partition 0 (async replication), node 2 is its active slave.
    private func startMasterAndSlave(masterArguments: [String]) throws {
        try startCluster(nodes: [1, 2], nodeArguments: [1: ["--replication-type", "async"] + masterArguments, 2: slaveArguments])
        try cluster.makeFirstMaster(1)
        let slave = cluster.node(2)
        XCTAssertEqual(try cluster.indexCommand("node role \(slave.host) \(slave.port) slave 1 0"), "OK")
        XCTAssertTrue(cluster.waitForIndex(2, role: "slave", state: "active", partition: 0), "slave construction")
        // A master with a slave acts as master once it holds a lease from the index.
        XCTAssertTrue(waitUntil(timeout: 5) { (try? cluster.client(1).store("set", "probe", "1")) == "STORED" }, "the master takes no writes")
    }

    private func replicationStats(_ number: Int) -> [String: String] {
        guard let lines = try? cluster.client(number).call("stats replication"), lines.last == "END" else { return [:] }
        var values: [String: String] = [:]
        for line in lines.dropLast() {
            let parts = line.split(separator: " ").map(String.init)
            if parts.count == 3 { values[parts[1]] = parts[2] }
        }
        return values
    }

    /// Kills the slave under ~5,000 writes/s, writes 10 s more, restarts it; returns the time from
    /// the index listing it as a slave again to `active`, in ms.
    private func killAndRejoinUnderLoad(expectFull: Bool) throws -> Double {
        let writer = PacedWriter(host: cluster.node(1).host, port: cluster.node(1).port, keys: keyNames("shared-", 300))
        writer.start()
        defer { writer.stop() }
        Thread.sleep(forTimeInterval: 2)
        // The slave has recorded how far it got (every 100 ms).
        XCTAssertTrue(waitUntil(timeout: 3) { FileManager.default.fileExists(atPath: cluster.node(2).dataDir.appendingPathComponent("flared.applied").path) })
        cluster.node(2).daemon.kill9()
        XCTAssertTrue(cluster.waitForIndex(2, role: "slave", state: "down", timeout: 10) || cluster.waitForIndex(2, role: "proxy", state: "down", timeout: 1),
                      "the index marks the killed slave down: \(cluster.mapsReport())")
        Thread.sleep(forTimeInterval: 10)
        let writtenBefore = writer.count
        try cluster.startNode(2, extra: slaveArguments)
        // Back as a proxy, then a slave again (asked by rejoin-as-slave), then active.
        var becameSlave: Double = 0
        XCTAssertTrue(waitUntil(timeout: 30, interval: 0.005) {
            guard let entry = try? cluster.indexStatsNodes()[cluster.key(2)] else { return false }
            if entry.role == "slave" && becameSlave == 0 { becameSlave = Date().timeIntervalSince1970 }
            return entry.role == "slave" && entry.state == "active"
        }, "the restarted slave did not become active: \(cluster.mapsReport())")
        let active = Date().timeIntervalSince1970
        XCTAssertGreaterThan(writer.count, writtenBefore, "writes went on")
        Thread.sleep(forTimeInterval: 1)
        writer.stop()
        XCTAssertEqual(writer.failures, [], "writes to the master failed")
        let stats = replicationStats(2)
        XCTAssertEqual(stats["catchups_from_backlog"], expectFull ? "0" : "1", "\(stats)")
        XCTAssertEqual(stats["catchups_full"], expectFull ? "1" : "0", "\(stats)")
        let log = (try? String(contentsOfFile: cluster.root.appendingPathComponent("n2.log").path, encoding: .utf8)) ?? ""
        let lines = log.split(separator: "\n").filter { $0.contains("caught up") || $0.contains("full copy") || $0.contains("reconstruction finished") }
        report(lines.map { String($0.suffix(160)) }.joined(separator: " | "))
        return (active - becameSlave) * 1000
    }

    /// Every item of both nodes, equal in value, flags, expiry and version; deleted keys absent on both.
    private func assertCopiesIdentical() {
        var master: [String: DumpedItem] = [:], slave: [String: DumpedItem] = [:]
        let same = waitUntil(timeout: 10, interval: 0.2) {
            guard let m = try? cluster.client(1).dump(), let s = try? cluster.client(2).dump() else { return false }
            master = m
            slave = s
            return m == s
        }
        XCTAssertFalse(master.isEmpty, "nothing was written")
        XCTAssertLessThan(master.count, 300, "some keys are deleted at the end")
        let differing = Set(master.keys).union(slave.keys).filter { master[$0] != slave[$0] }.sorted()
        XCTAssertTrue(same, "master and slave differ on \(differing.count) keys, e.g. " +
                      differing.prefix(5).map { "\($0): master \(master[$0]?.description ?? "absent"), slave \(slave[$0]?.description ?? "absent")" }.joined(separator: "; "))
    }

    func testRestartedSlaveCatchesUpFromTheBacklog() throws {
        try startMasterAndSlave(masterArguments: [])
        let milliseconds = try killAndRejoinUnderLoad(expectFull: false)
        report(String(format: "slave → active after the backlog catch-up: %.0f ms", milliseconds))
        assertCopiesIdentical()
    }

    func testTooSmallABacklogFallsBackToAFullCopy() throws {
        try startMasterAndSlave(masterArguments: ["--replication-backlog", "1024"])
        let milliseconds = try killAndRejoinUnderLoad(expectFull: true)
        report(String(format: "slave → active after the full copy: %.0f ms", milliseconds))
        assertCopiesIdentical()
    }
}

/// Sets and deletes `keys` at about 5,000 operations a second: batches of 50 pipelined requests
/// every 10 ms on one connection; three sets to one delete.
private final class PacedWriter: @unchecked Sendable {
    private let host: String
    private let port: Int
    private let keys: [String]
    private let lock = NSLock()
    private var stopping = false
    private var done = false
    private var written = 0
    private var errors: [String] = []

    init(host: String, port: Int, keys: [String]) {
        self.host = host
        self.port = port
        self.keys = keys
    }

    var count: Int { lock.withLock { written } }
    var failures: [String] { lock.withLock { Array(errors.prefix(5)) } }

    func start() { Thread { [self] in run() }.start() }

    func stop() {
        lock.withLock { stopping = true }
        _ = waitUntil(timeout: 10) { lock.withLock { done } }
    }

    private func run() {
        defer { lock.withLock { done = true } }
        var random = SplitMix64(state: 42)
        var sequence = 0
        do {
            let client = try TestClient(host: host, port: port, timeout: 5)
            while !lock.withLock({ stopping }) {
                let began = Date()
                var bytes: [UInt8] = []
                for _ in 0..<50 {
                    let key = keys[Int(random.next() % UInt64(keys.count))]
                    sequence += 1
                    if random.next() % 4 == 0 {
                        bytes += Array("delete \(key)\r\n".utf8)
                    } else {
                        let value = "\(key)=\(sequence)"
                        bytes += Array("set \(key) \(sequence % 7) 0 \(value.utf8.count)\r\n\(value)\r\n".utf8)
                    }
                }
                try client.send(bytes)
                for _ in 0..<50 {
                    let reply = try client.readLine()
                    if reply != "STORED" && reply != "DELETED" && reply != "NOT_FOUND" { lock.withLock { errors.append(reply) } }
                }
                lock.withLock { written += 50 }
                let left = 0.01 - Date().timeIntervalSince(began)
                if left > 0 { Thread.sleep(forTimeInterval: left) }
            }
        } catch {
            lock.withLock { errors.append("\(error)") }
        }
    }
}
