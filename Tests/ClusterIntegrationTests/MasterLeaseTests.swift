import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The master lease: an active master with a slave acts as master only while it hears from the
/// index, so a master cut off from the index stops before the index could promote its slave.
final class MasterLeaseTests: ClusterTestCase {
    private let refusal = "SERVER_ERROR this node has not heard from the index server"

    /// Master 1 with slave 2; node 3 a proxy. Returns a client of the master.
    private func masterWithSlave() throws -> TestClient {
        try startMasterAndSlave()
        let client = try cluster.client(1)
        XCTAssertTrue(waitUntil(timeout: 5) { (try? client.store("set", "lease-probe", "v")) == "STORED" }, "master does not accept writes")
        return client
    }

    /// Writes (and reads) on the master until the first refusal; returns the seconds it took.
    private func secondsUntilRefused(_ client: TestClient, since start: Double, timeout: Double = 5) throws -> Double? {
        var n = 0
        while now() - start < timeout {
            n += 1
            let reply = try client.store("set", "lease-\(n)", "v") ?? ""
            if reply.hasPrefix(refusal) { return now() - start }
            XCTAssertEqual(reply, "STORED")
            usleep(10_000)
        }
        return nil
    }

    func testMasterStopsWhenTheIndexIsSuspendedAndResumesWithIt() throws {
        let client = try masterWithSlave()
        let stoppedAt = now()
        cluster.index.signal(SIGSTOP)
        let refusedAfter = try secondsUntilRefused(client, since: stoppedAt)
        XCTAssertNotNil(refusedAfter, "the master kept acknowledging writes without the index")
        if let refusedAfter {
            report(String(format: "index SIGSTOP: master refuses writes after %.3f s (master-lease 1000 ms)", refusedAfter))
            XCTAssertLessThan(refusedAfter, 1.2 + 0.3, "refusal later than master-lease + renewal interval")
            XCTAssertGreaterThan(refusedAfter, 0.6, "refused before the lease could have run out")
        }
        // Reads it would serve as master are refused too; the slave is not refused (it is no master).
        let read = try client.call("get lease-probe")
        XCTAssertTrue(read.first?.hasPrefix(refusal) == true, "\(read)")
        let slaveRead = try cluster.client(2).call("get lease-probe")
        XCTAssertFalse(slaveRead.first?.hasPrefix(refusal) == true, "the slave refused a read: \(slaveRead)")

        let resumedAt = now()
        cluster.index.signal(SIGCONT)
        let serving = waitUntil(timeout: 5, interval: 0.01) { (try? client.store("set", "lease-back", "v")) == "STORED" }
        XCTAssertTrue(serving, "master did not serve again after the index came back:\n\(cluster.mapsReport())")
        report(String(format: "index SIGCONT: master acknowledges writes again after %.3f s", now() - resumedAt))
        XCTAssertEqual(try cluster.indexStatsNodes()[cluster.key(1)]?.role, "master")
    }

    func testMasterResumesAfterTheIndexRestarts() throws {
        let client = try masterWithSlave()
        let killedAt = now()
        cluster.index.kill9()
        let refusedAfter = try secondsUntilRefused(client, since: killedAt)
        XCTAssertNotNil(refusedAfter, "the master kept acknowledging writes without the index")
        if let refusedAfter { report(String(format: "index kill -9: master refuses writes after %.3f s", refusedAfter)) }
        let restartedAt = now()
        try cluster.startIndex()
        let serving = waitUntil(timeout: 10, interval: 0.01) { (try? client.store("set", "lease-back", "v")) == "STORED" }
        XCTAssertTrue(serving, "master did not serve again after the index restarted:\n\(cluster.mapsReport())")
        report(String(format: "index restart: master acknowledges writes again %.3f s after the restart began", now() - restartedAt))
    }

    /// A master without slaves needs no lease: nobody could replace it.
    func testMasterWithoutSlavesKeepsServingWithoutTheIndex() throws {
        try startCluster(nodes: [1])
        try cluster.makeFirstMaster(1)
        let client = try cluster.client(1)
        cluster.index.signal(SIGSTOP)
        defer { cluster.index.signal(SIGCONT) }
        let start = now()
        XCTAssertNil(try secondsUntilRefused(client, since: start, timeout: 2.5))
    }

    /// Without index servers there is no lease and no fence, whatever the time.
    func testStandaloneNodeIsNeverFenced() throws {
        let host = "127.0.0.1"
        let port = freePort(host: host)
        let dataDir = cluster.root.appendingPathComponent("alone")
        try FileManager.default.createDirectory(at: dataDir, withIntermediateDirectories: true)
        let daemon = Daemon(label: "flared standalone", executable: Executables.url("flared"),
                            arguments: ["--data-dir", dataDir.path, "--server-name", host, "--server-address", host,
                                        "--server-port", String(port), "--thread-pool-size", "2"],
                            logPath: cluster.root.appendingPathComponent("alone.log").path)
        try daemon.start()
        defer { daemon.kill9() }
        XCTAssertTrue(waitUntil(timeout: 10) { (try? TestClient(host: host, port: port, timeout: 1).line("version"))?.hasPrefix("VERSION") == true })
        let client = try TestClient(host: host, port: port, timeout: 5)
        XCTAssertNil(try secondsUntilRefused(client, since: now(), timeout: 2.5))
        XCTAssertEqual(try client.get("lease-1")?.value, "v")
    }
}
