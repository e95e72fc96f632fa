import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Leases the index grants (`lease <name> <port> <milliseconds>`) and honours: with the shipped
/// monitor settings, a failed master is taken down only after its last grant expired, so its
/// slave is promoted after the master stopped acting as one.
final class LeaseGrantTests: ClusterTestCase {
    /// etc/flarei.conf: interval 1 s, threshold 2, read timeout 300 ms.
    private static let shippedMonitor = ["--monitor-interval", "1", "--monitor-threshold", "2", "--monitor-read-timeout", "300"]

    private func masterWithSlave() throws {
        cluster.monitorArguments = Self.shippedMonitor
        try startMasterAndSlave()
        let client = try cluster.client(1)
        XCTAssertTrue(waitUntil(timeout: 5) { (try? client.store("set", "lease-probe", "v")) == "STORED" }, "master does not accept writes")
    }

    func testLeaseCommandAnswersTheMapVersion() throws {
        try startCluster(nodes: [1])
        let index = try cluster.indexClient()
        let version = try XCTUnwrap(try index.call("stats").first { $0.hasPrefix("STAT node_map_version ") }?.split(separator: " ").last)
        let node = cluster.node(1)
        XCTAssertEqual(try index.line("lease \(node.host) \(node.port) 1000"), "LEASE \(version)")
        XCTAssertEqual(try index.line("lease \(node.host) \(node.port) 0"), "LEASE \(version)")
        XCTAssertEqual(try index.line("lease \(node.host) \(node.port)"), "ERROR")
        XCTAssertEqual(try index.line("lease \(node.host) \(node.port) soon"), "ERROR")
        XCTAssertEqual(try index.line("lease \(node.host) \(node.port) 600001"), "CLIENT_ERROR lease length out of range")
    }

    /// SIGSTOP at four phases of the monitor's 1 s interval, each in a fresh cluster.
    func testSuspendedMasterIsRevokedThenFailedOverOnceItsLeaseExpired() throws {
        var times: [Double] = []
        for (round, phase) in [0.0, 0.25, 0.5, 0.75].enumerated() {
            if round > 0 {
                cluster.shutdown()
                cluster = try TestCluster(name: "stopphase\(round)")
            }
            try masterWithSlave()
            usleep(useconds_t(phase * 1_000_000))
            let master = cluster.node(1).daemon
            master.signal(SIGSTOP)
            let stoppedAt = now()
            defer { master.signal(SIGCONT) }
            XCTAssertTrue(waitUntil(timeout: 10, interval: 0.005) { (try? cluster.indexStatsNodes()[cluster.key(2)]?.role) == "master" },
                          cluster.mapsReport())
            times.append(now() - stoppedAt)
            let log = cluster.index.log()
            let revoked = try XCTUnwrap(log.range(of: "\(cluster.key(1)) does not answer: lease revoked"), cluster.index.logTail())
            // Logged before the node-down operation (whose own line may follow the promotion we saw).
            let down = try XCTUnwrap(log.range(of: "\(cluster.key(1)) does not answer: marking it down"), cluster.index.logTail())
            XCTAssertLessThan(revoked.lowerBound, down.lowerBound, "taken down before its lease was revoked")
        }
        report("master SIGSTOP at phases 0, 0.25, 0.5, 0.75 s: slave promoted after " + times.map { String(format: "%.3f s", $0) }.joined(separator: ", "))
        for time in times {
            // Its last renewal left at most one 200 ms round before the stop; the index waited until
            // that grant's receipt + 1000 ms, after the node's own lease (sent + 950 ms) ended.
            XCTAssertGreaterThan(time, 0.75)
            XCTAssertLessThan(time, 3.0)
        }
    }

    /// kill -9 at four phases of the monitor's 1 s interval, each in a fresh cluster: the slave is
    /// promoted after the master's last grant expired (its last renewal ≤ 200 ms before the kill,
    /// + 1000 ms), and not much later.
    func testKilledMasterIsFailedOverWithinTheLease() throws {
        var times: [Double] = []
        for (round, phase) in [0.0, 0.25, 0.5, 0.75].enumerated() {
            if round > 0 {
                cluster.shutdown()
                cluster = try TestCluster(name: "killphase\(round)")
            }
            try masterWithSlave()
            usleep(useconds_t(phase * 1_000_000))
            cluster.node(1).daemon.kill9()
            let killedAt = now()
            XCTAssertTrue(waitUntil(timeout: 10, interval: 0.005) { (try? cluster.indexStatsNodes()[cluster.key(2)]?.role) == "master" },
                          cluster.mapsReport())
            times.append(now() - killedAt)
        }
        report("master kill -9 at phases 0, 0.25, 0.5, 0.75 s: slave promoted after " + times.map { String(format: "%.3f s", $0) }.joined(separator: ", "))
        for time in times {
            XCTAssertGreaterThan(time, 0.75, "promoted before the master's last grant could have expired")
            XCTAssertLessThan(time, 3.0)
        }
    }
}
