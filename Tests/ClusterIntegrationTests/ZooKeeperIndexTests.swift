import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Three flarei on one ZooKeeper tree (`index-db = zookeeper://…`), on a real three-server
/// ensemble started once for the class: one leads, the others follow and forward; killing the
/// leader or a ZooKeeper server keeps the cluster deciding, and no node's map version goes back.
final class ZooKeeperIndexTests: ClusterTestCase {
    nonisolated(unsafe) static var ensemble: ZooKeeperEnsemble?
    nonisolated(unsafe) static var ensembleError: String?

    override class func setUp() {
        super.setUp()
        guard ZooKeeperEnsemble.isInstalled else {
            ensembleError = "ZooKeeper is not installed (scripts/install-deps installs Debian's zookeeper)"
            return
        }
        do {
            let started = try ZooKeeperEnsemble()
            ensemble = started
            try started.startAll()
        } catch {
            ensembleError = "\(error)"
        }
    }

    override class func tearDown() {
        ensemble?.shutdown()
        ensemble = nil
        super.tearDown()
    }

    struct IndexProcess {
        let port: Int
        let daemon: Daemon
        var address: String { "127.0.0.1:\(port)" }
    }

    private var indexes: [IndexProcess] = []
    private var uri = ""

    private func requireEnsemble() throws -> ZooKeeperEnsemble {
        guard let ensemble = Self.ensemble, Self.ensembleError == nil else {
            throw ClientError.unexpected("ZooKeeper ensemble", Self.ensembleError ?? "not started")
        }
        return ensemble
    }

    /// An initialised tree of its own under the ensemble, three flarei on it, and nodes 1–3 that
    /// know all three index servers.
    private func startIndexCluster() throws -> ZooKeeperEnsemble {
        let ensemble = try requireEnsemble()
        uri = "zookeeper://\(ensemble.connectString)/flare-test/\(cluster.root.lastPathComponent)"
        let initialised = try runTool("flare-zkadmin", ["init", uri], in: cluster.root, timeout: 30)
        XCTAssertEqual(initialised.status, 0, "\(initialised)")
        for number in 1...3 {
            let port = freePort(host: "127.0.0.1")
            let dataDir = cluster.root.appendingPathComponent("i\(number)")
            try FileManager.default.createDirectory(at: dataDir, withIntermediateDirectories: true)
            let daemon = Daemon(label: "flarei \(number)", executable: Executables.url("flarei"),
                                arguments: ["--data-dir", dataDir.path, "--index-db", uri, "--server-name", "127.0.0.1",
                                            "--server-address", "127.0.0.1", "--server-port", String(port)] + TestCluster.indexMonitorArguments,
                                logPath: cluster.root.appendingPathComponent("flarei\(number).log").path)
            try daemon.start()
            cluster.adopt(daemon)
            indexes.append(IndexProcess(port: port, daemon: daemon))
        }
        for index in indexes {
            guard waitUntil(timeout: 15, { (try? TestClient(host: "127.0.0.1", port: index.port, timeout: 1).line("ping")) == "OK" }) else {
                throw ClientError.timeout("flarei on \(index.address) to answer\n\(index.daemon.logTail())")
            }
        }
        guard waitUntil(timeout: 10, { leader() != nil }) else { throw ClientError.timeout("a flarei to take the lead\n\(indexLogs())") }
        cluster.nodeIndexServers = indexes.map(\.address).joined(separator: ",")
        // The helpers ask a follower: its answers come from the map it follows.
        cluster.indexPort = follower()!.port
        try cluster.startNodes([1, 2, 3])
        return ensemble
    }

    /// The leading flarei, from the lock znodes (`flare-zkadmin show`).
    private func leader() -> IndexProcess? {
        guard let run = try? runTool("flare-zkadmin", ["show", uri], in: cluster.root, timeout: 20), run.status == 0,
              let line = run.output.split(separator: "\n").first(where: { $0.hasPrefix("leader ") }) else { return nil }
        let address = line.dropFirst("leader ".count)
        return indexes.first { $0.address == address && $0.daemon.isRunning }
    }

    private func follower() -> IndexProcess? {
        let lead = leader()
        return indexes.first { $0.daemon.isRunning && $0.port != lead?.port }
    }

    private func indexLogs() -> String {
        indexes.enumerated().map { "=== flarei \($0.offset + 1) \($0.element.address):\n\($0.element.daemon.logTail(25))" }.joined(separator: "\n")
    }

    /// A change that needs the leader (a no-op `node state … active` of an active proxy), sent to
    /// `index`: "OK" once some index decides (a follower forwards it).
    private func decides(through index: IndexProcess) -> Bool {
        (try? TestClient(host: "127.0.0.1", port: index.port, timeout: 6).line("node state \(cluster.node(3).host) \(cluster.node(3).port) active")) == "OK"
    }

    func testLeaderKilledAnotherDecidesAndFailsOverAMaster() throws {
        let ensemble = try startIndexCluster()
        let versions = VersionWatch(nodes: [1, 2, 3].map { (cluster.node($0).host, cluster.node($0).port) })
        versions.start()
        defer { versions.stop() }

        // Changes sent to a follower are made by the leader.
        try cluster.makeFirstMaster(1)
        let slave = cluster.node(2)
        XCTAssertEqual(try cluster.indexCommand("node role \(slave.host) \(slave.port) slave 1 0"), "OK")
        XCTAssertTrue(cluster.waitForIndex(2, role: "slave", state: "active", partition: 0), cluster.mapsReport())
        XCTAssertTrue(cluster.waitForMapsInSync([1, 2, 3]), cluster.mapsReport())
        XCTAssertEqual(try cluster.load([("zk-a", "1", 0), ("zk-b", "2", 0)], through: 3), [])

        // Followers serve reads, and refuse leases naming the leader.
        let first = try XCTUnwrap(leader())
        let other = try XCTUnwrap(follower())
        XCTAssertEqual(try TestClient(host: "127.0.0.1", port: other.port).line("ping"), "OK")
        XCTAssertEqual(try TestClient(host: "127.0.0.1", port: other.port).line("lease 127.0.0.9 1 1000"),
                       "SERVER_ERROR not the leading index server; the leader is \(first.address)")

        // kill -9 of the leader: another takes over and decides.
        let killedAt = now()
        first.daemon.kill9()
        let survivors = indexes.filter { $0.port != first.port }
        XCTAssertTrue(waitUntil(timeout: 15, interval: 0.1) { decides(through: survivors[0]) }, "no index decides after the leader's kill:\n\(indexLogs())")
        let takeover = now() - killedAt
        report(String(format: "another flarei decides %.2f s after kill -9 of the leading one", takeover))
        XCTAssertLessThan(takeover, 5.5, "take-over too slow")
        let second = try XCTUnwrap(leader(), indexLogs())
        XCTAssertNotEqual(second.port, first.port)
        cluster.indexPort = second.port

        // The tools take every index server and use one that answers (the dead leader is first).
        let everyIndex = indexes.map(\.address).joined(separator: ",")
        let listed = try runTool("flare-admin", ["list", "-i", everyIndex], in: cluster.root, timeout: 30)
        XCTAssertEqual(listed.status, 0, "\(listed)")
        XCTAssertTrue(listed.output.contains("\(cluster.node(1).host):\(cluster.node(1).port)"), "\(listed)")
        let stats = try runTool("flare-stats", ["-i", everyIndex], in: cluster.root, timeout: 30)
        XCTAssertEqual(stats.status, 0, "\(stats)")

        // A master killed afterwards is failed over by the new leader.
        let masterKilledAt = now()
        cluster.node(1).daemon.kill9()
        XCTAssertTrue(cluster.waitForIndex(2, role: "master", state: "active", partition: 0, timeout: 15), cluster.mapsReport() + "\n" + indexLogs())
        report(String(format: "the master killed after the take-over was failed over %.2f s after its kill", now() - masterKilledAt))
        XCTAssertTrue(cluster.waitForMapsInSync([2, 3]), cluster.mapsReport())
        let survivor = survivors.first { $0.port != second.port }!
        cluster.indexPort = survivor.port
        XCTAssertTrue(cluster.waitForIndex(2, role: "master", state: "active", partition: 0, timeout: 5), "the follower does not follow: \(cluster.mapsReport())")
        XCTAssertEqual(try cluster.client(3).line("get zk-a").hasPrefix("VALUE zk-a"), true)

        // One ZooKeeper server down (whichever leads the ensemble, the harder case): still deciding.
        let zkLeader = (1...3).first { ensemble.mode(of: $0) == "leader" } ?? 1
        ensemble.kill(zkLeader)
        defer { try? ensemble.start(zkLeader) }
        let zkKilledAt = now()
        XCTAssertTrue(waitUntil(timeout: 15, interval: 0.2) { decides(through: survivor) }, "no decisions after a ZooKeeper server was killed:\n\(indexLogs())")
        report(String(format: "with ZooKeeper server %d (the ensemble's leader) killed, the index decides again after %.2f s", zkLeader, now() - zkKilledAt))
        cluster.node(3).daemon.kill9()
        XCTAssertTrue(cluster.waitForIndex(3, role: "proxy", state: "down", timeout: 15), cluster.mapsReport() + "\n" + indexLogs())
        XCTAssertTrue(waitUntil(timeout: 5) { (try? cluster.client(2).line("set zk-c 0 0 1\r\nz")) == "STORED" }, "writes to the master fail")

        versions.stop()
        XCTAssertEqual(versions.decreases, [], "a node's map version went back")
        XCTAssertGreaterThan(versions.highest, 0)
    }
}

/// Polls each node's `node_map_version` (`stats`) every 20 ms and records any decrease.
final class VersionWatch: @unchecked Sendable {
    private let nodes: [(host: String, port: Int)]
    private let lock = NSLock()
    private var last: [Int: UInt64] = [:]
    private var found: [String] = []
    private var running = true
    private var thread: Thread?

    init(nodes: [(host: String, port: Int)]) { self.nodes = nodes }

    func start() {
        let thread = Thread { [self] in
            while lock.withLock({ running }) {
                for (number, node) in nodes.enumerated() {
                    guard let text = try? TestClient(host: node.host, port: node.port, timeout: 0.5).stats()["node_map_version"],
                          let version = UInt64(text) else { continue }
                    lock.withLock {
                        if let previous = last[number], version < previous { found.append("\(node.host):\(node.port) \(previous) -> \(version)") }
                        last[number] = max(last[number] ?? 0, version)
                    }
                }
                usleep(20_000)
            }
        }
        self.thread = thread
        thread.start()
    }

    func stop() { lock.withLock { running = false } }

    var decreases: [String] { lock.withLock { found } }
    var highest: UInt64 { lock.withLock { last.values.max() ?? 0 } }
}
