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
    /// A namespace whose veth pair lets one flarei be cut off from ZooKeeper (root only); the
    /// ensemble then listens on the pair's host end, which host processes reach as well.
    nonisolated(unsafe) static var namespace: NetworkNamespace?
    nonisolated(unsafe) static var namespaceError: String?

    override class func setUp() {
        super.setUp()
        guard ZooKeeperEnsemble.isInstalled else {
            ensembleError = "ZooKeeper is not installed (scripts/install-deps installs Debian's zookeeper)"
            return
        }
        if geteuid() == 0 && FileManager.default.isExecutableFile(atPath: NetworkNamespace.ip) {
            do { namespace = try NetworkNamespace.create() } catch { namespaceError = "\(error)" }
        } else {
            namespaceError = "creating a network namespace needs root and \(NetworkNamespace.ip)"
        }
        do {
            let started = try ZooKeeperEnsemble(host: namespace?.hostAddress ?? "127.0.0.1")
            ensemble = started
            try started.startAll()
        } catch {
            ensembleError = "\(error)"
        }
    }

    override class func tearDown() {
        ensemble?.shutdown()
        ensemble = nil
        namespace?.remove()
        namespace = nil
        super.tearDown()
    }

    struct IndexProcess {
        let host: String
        /// Where the test reaches it (differs from `host` for one inside the namespace).
        let port: Int
        let daemon: Daemon
        var address: String { "\(host):\(port)" }
    }

    private var indexes: [IndexProcess] = []
    var uri = ""

    func requireEnsemble() throws -> ZooKeeperEnsemble {
        guard let ensemble = Self.ensemble, Self.ensembleError == nil else {
            throw ClientError.unexpected("ZooKeeper ensemble", Self.ensembleError ?? "not started")
        }
        return ensemble
    }

    /// One flarei on the tree; `wrapper` runs it in a namespace (listening on all of its
    /// addresses, named by `host`).
    func startIndex(_ number: Int, host: String, wrapper: [String] = []) throws -> IndexProcess {
        let port = freePort(host: wrapper.isEmpty ? host : "127.0.0.1")
        let dataDir = cluster.root.appendingPathComponent("i\(number)")
        try FileManager.default.createDirectory(at: dataDir, withIntermediateDirectories: true)
        let daemon = Daemon(label: "flarei \(number)", executable: Executables.url("flarei"),
                            arguments: ["--data-dir", dataDir.path, "--index-db", uri, "--server-name", host,
                                        "--server-address", wrapper.isEmpty ? host : "0.0.0.0", "--server-port", String(port)]
                                + TestCluster.indexMonitorArguments,
                            logPath: cluster.root.appendingPathComponent("flarei\(number).log").path, prefix: wrapper)
        try daemon.start()
        cluster.adopt(daemon)
        let index = IndexProcess(host: host, port: port, daemon: daemon)
        indexes.append(index)
        guard waitUntil(timeout: 15, { (try? TestClient(host: host, port: port, timeout: 1).line("ping")) == "OK" }) else {
            throw ClientError.timeout("flarei on \(index.address) to answer\n\(daemon.logTail())")
        }
        return index
    }

    /// An initialised tree of its own under the ensemble, three flarei on it (the first inside
    /// `inner`, when given, and leading), and nodes 1–3 on `host` that know all three.
    private func startIndexCluster(host: String = "127.0.0.1", inner: NetworkNamespace? = nil) throws -> ZooKeeperEnsemble {
        let ensemble = try requireEnsemble()
        uri = "zookeeper://\(ensemble.connectString)/flare-test/\(cluster.root.lastPathComponent)"
        let initialised = try runTool("flare-zkadmin", ["init", uri], in: cluster.root, timeout: 30)
        XCTAssertEqual(initialised.status, 0, "\(initialised)")
        if let inner {
            let first = try startIndex(1, host: inner.innerAddress, wrapper: [NetworkNamespace.ip, "netns", "exec", inner.name])
            guard waitUntil(timeout: 10, { leader()?.port == first.port }) else { throw ClientError.timeout("the first flarei to lead\n\(indexLogs())") }
        }
        while indexes.count < 3 { _ = try startIndex(indexes.count + 1, host: host) }
        guard waitUntil(timeout: 10, { leader() != nil }) else { throw ClientError.timeout("a flarei to take the lead\n\(indexLogs())") }
        cluster.nodeIndexServers = indexes.map(\.address).joined(separator: ",")
        if host != "127.0.0.1" { cluster.nodeHosts = [1: host, 2: host, 3: host] }
        // The helpers ask a follower on the host: its answers come from the map it follows.
        let asked = indexes.first { $0.daemon.isRunning && $0.port != leader()?.port && $0.host == host }!
        cluster.indexHost = asked.host
        cluster.indexPort = asked.port
        try cluster.startNodes([1, 2, 3])
        return ensemble
    }

    /// The leading flarei, from the lock znodes (`flare-zkadmin show`).
    func leader() -> IndexProcess? {
        guard let run = try? runTool("flare-zkadmin", ["show", uri], in: cluster.root, timeout: 20), run.status == 0,
              let line = run.output.split(separator: "\n").first(where: { $0.hasPrefix("leader ") }) else { return nil }
        let address = line.dropFirst("leader ".count)
        return indexes.first { $0.address == address && $0.daemon.isRunning }
    }

    private func follower() -> IndexProcess? {
        let lead = leader()
        return indexes.first { $0.daemon.isRunning && $0.port != lead?.port }
    }

    func indexLogs() -> String {
        indexes.enumerated().map { "=== flarei \($0.offset + 1) \($0.element.address):\n\($0.element.daemon.logTail(25))" }.joined(separator: "\n")
    }

    /// A change that needs the leader (a no-op `node state … active` of an active proxy), sent to
    /// `index`: "OK" once some index decides (a follower forwards it).
    private func decides(through index: IndexProcess) -> Bool {
        (try? TestClient(host: index.host, port: index.port, timeout: 6).line("node state \(cluster.node(3).host) \(cluster.node(3).port) active")) == "OK"
    }

    /// A change waits off the event loops: a follower forwarding one to a frozen leader (up to 5 s)
    /// keeps answering every other connection at once — before, the worker that held the waiting
    /// change stalled a quarter of the follower's clients with it.
    func testAChangeStuckOnAFrozenLeaderDelaysNoOtherClient() throws {
        _ = try startIndexCluster()
        guard let lead = leader(), let other = follower() else { throw ClientError.timeout("a leader and a follower\n\(indexLogs())") }
        lead.daemon.signal(SIGSTOP)
        defer { lead.daemon.signal(SIGCONT) }
        let stuck = try TestClient(host: other.host, port: other.port, timeout: 10)
        try stuck.send("node state \(cluster.node(3).host) \(cluster.node(3).port) active\r\n")
        Thread.sleep(forTimeInterval: 0.2)
        // Sixteen fresh connections spread over all of the follower's workers.
        var slowest = 0.0
        for _ in 0..<16 {
            let started = now()
            let client = try TestClient(host: other.host, port: other.port, timeout: 5)
            XCTAssertEqual(try client.line("ping"), "OK")
            XCTAssertFalse(try client.statsNodes().isEmpty, "stats nodes while a change waits")
            slowest = max(slowest, now() - started)
        }
        report(String(format: "slowest ping + stats nodes on the follower while a change waited for the frozen leader: %.3f s", slowest))
        XCTAssertLessThan(slowest, 1.0, "a client waited behind the stuck change")
        // The stuck change itself gets a clear failure, and the connection goes on afterwards.
        let answer = try stuck.readLine()
        XCTAssertTrue(answer.hasPrefix("SERVER_ERROR"), answer)
        XCTAssertEqual(try stuck.line("ping"), "OK")
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
        XCTAssertEqual(try TestClient(host: other.host, port: other.port).line("ping"), "OK")
        XCTAssertEqual(try TestClient(host: other.host, port: other.port).line("lease 127.0.0.9 1 1000"),
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
        cluster.indexHost = second.host
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
        cluster.indexHost = survivor.host
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

extension ZooKeeperIndexTests {
    /// Whether `index` itself decides: only the leader grants a lease (to a made-up node key here);
    /// a follower refuses without forwarding.
    func grantsLeases(_ index: IndexProcess) -> Bool {
        (try? TestClient(host: index.host, port: index.port, timeout: 0.5).line("lease 127.0.0.9 1 1"))?.hasPrefix("LEASE ") == true
    }

    /// The leading flarei runs in a network namespace whose link is cut: it stops deciding before
    /// another starts (never two leaders), and follows the new one once the link is back.
    func testLeaderCutOffFromZooKeeperStopsBeforeAnotherDecides() throws {
        guard let space = Self.namespace else { return XCTFail("no network namespace: \(Self.namespaceError ?? "")") }
        _ = try startIndexCluster(host: space.hostAddress, inner: space)
        let cut = indexes[0]
        XCTAssertEqual(leader()?.port, cut.port)
        let versions = VersionWatch(nodes: [1, 2, 3].map { (cluster.node($0).host, cluster.node($0).port) })
        versions.start()
        defer { versions.stop() }
        try cluster.makeFirstMaster(1)

        // Inside the namespace, a probe asks the cut-off flarei for a lease every 20 ms, stamping
        // each answer with the monotonic clock the test reads too.
        let script = """
        import socket, sys, time
        port, end = int(sys.argv[1]), time.monotonic() + float(sys.argv[2])
        while time.monotonic() < end:
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=0.3); s.settimeout(0.3)
                s.sendall(b"lease 127.0.0.9 1 1\\r\\n"); answer = s.makefile().readline().strip(); s.close()
            except Exception as e:
                answer = "FAILED " + type(e).__name__
            print("%.3f %s" % (time.monotonic(), answer), flush=True)
            time.sleep(0.02)
        """
        let probeLog = cluster.root.appendingPathComponent("probe.log").path
        let probe = Daemon(label: "lease probe", executable: URL(fileURLWithPath: "/usr/bin/python3"),
                           arguments: ["-c", script, String(cut.port), "25"], logPath: probeLog,
                           prefix: [NetworkNamespace.ip, "netns", "exec", space.name])
        try probe.start()
        cluster.adopt(probe)
        XCTAssertTrue(waitUntil(timeout: 5) { probe.log().contains(" LEASE ") }, "the probe gets no lease from the leader: \(probe.logTail(5))")

        let cutAt = now()
        try space.setLink(up: false)
        var healed = false
        defer { if !healed { try? space.setLink(up: true) } }
        var successor: IndexProcess?
        XCTAssertTrue(waitUntil(timeout: 15, interval: 0.02) {
            successor = indexes.dropFirst().first { grantsLeases($0) }
            return successor != nil
        }, "no other flarei took the lead:\n\(indexLogs())")
        let successorAt = now()
        usleep(500_000)
        try space.setLink(up: true)
        healed = true

        // The cut-off flarei follows the new leader once it is back (its session expired meanwhile).
        let newLeader = try XCTUnwrap(successor)
        XCTAssertTrue(waitUntil(timeout: 15) {
            (try? TestClient(host: cut.host, port: cut.port, timeout: 1).line("lease 127.0.0.9 1 1")) ==
                "SERVER_ERROR not the leading index server; the leader is \(newLeader.address)"
        }, "the cut-off flarei does not follow after the link is back:\n\(indexLogs())")
        probe.kill9()

        let answers = probe.log().split(separator: "\n").compactMap { line -> (at: Double, granted: Bool)? in
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, let at = Double(parts[0]) else { return nil }
            return (at, parts[1].hasPrefix("LEASE "))
        }
        let lastGrant = try XCTUnwrap(answers.filter { $0.granted }.map(\.at).max())
        XCTAssertLessThan(lastGrant, successorAt, "two leaders: the cut-off flarei granted a lease after \(newLeader.address) began deciding")
        XCTAssertTrue(answers.contains { !$0.granted && $0.at > lastGrant && $0.at < successorAt },
                      "the cut-off flarei was not seen refusing before the new leader decided: \(probe.logTail(10))")
        report(String(format: "cut-off leader: last decision %.2f s after the cut, the next leader decides %.2f s after it (%.2f s without a leader)",
                      lastGrant - cutAt, successorAt - cutAt, successorAt - lastGrant))

        // The cluster goes on with the new leader: a master killed now is failed over.
        cluster.indexHost = newLeader.host
        cluster.indexPort = newLeader.port
        let slave = cluster.node(2)
        XCTAssertEqual(try cluster.indexCommand("node role \(slave.host) \(slave.port) slave 1 0"), "OK")
        XCTAssertTrue(cluster.waitForIndex(2, role: "slave", state: "active", partition: 0), cluster.mapsReport())
        cluster.node(1).daemon.kill9()
        XCTAssertTrue(cluster.waitForIndex(2, role: "master", state: "active", partition: 0, timeout: 15), cluster.mapsReport() + "\n" + indexLogs())
        XCTAssertTrue(cluster.waitForMapsInSync([2, 3]), cluster.mapsReport())
        versions.stop()
        XCTAssertEqual(versions.decreases, [], "a node's map version went back")
    }
}

extension ZooKeeperIndexTests {
    /// Moving a cluster from `file://` to ZooKeeper: `flare-zkadmin import` loads flare.xml into the
    /// tree, and a flarei on the tree leads with that map. An import while it leads (by hand, with
    /// --force) replaces the map it starts from.
    func testFlareXMLImportedIntoTheTree() throws {
        let ensemble = try requireEnsemble()
        try cluster.startIndex()
        try cluster.startNodes([1])
        try cluster.makeFirstMaster(1)
        let fileVersion = try XCTUnwrap(UInt64(try cluster.indexClient().stats()["node_map_version"] ?? ""))
        cluster.index.kill9()

        uri = "zookeeper://\(ensemble.connectString)/flare-test/\(cluster.root.lastPathComponent)"
        let flareXML = cluster.indexDataDir.appendingPathComponent("flare.xml").path
        let imported = try runTool("flare-zkadmin", ["import", uri, flareXML], in: cluster.root, timeout: 30)
        XCTAssertEqual(imported.status, 0, "\(imported)")
        XCTAssertTrue(imported.output.contains("imported 1 node(s)"), "\(imported)")
        let refused = try runTool("flare-zkadmin", ["import", uri, flareXML], in: cluster.root, timeout: 30)
        XCTAssertNotEqual(refused.status, 0, "a second import without --force replaced the map: \(refused)")
        XCTAssertTrue(refused.errors.contains("already lists 1 node(s)"), "\(refused)")

        let index = try startIndex(1, host: "127.0.0.1")
        XCTAssertTrue(waitUntil(timeout: 10) { self.leader()?.port == index.port }, indexLogs())
        let client = try TestClient(host: index.host, port: index.port)
        XCTAssertEqual(try client.statsNodes()[cluster.key(1)]?.role, "master")
        XCTAssertEqual(try client.stats()["node_map_version"], String(fileVersion))

        let replaced = try runTool("flare-zkadmin", ["import", "--force", uri, flareXML], in: cluster.root, timeout: 30)
        XCTAssertEqual(replaced.status, 0, "\(replaced)")
        XCTAssertTrue(waitUntil(timeout: 10) { (try? client.stats()["node_map_version"]) == String(fileVersion + 1) },
                      "the leader did not take the imported map: \(indexLogs())")
        XCTAssertTrue(waitUntil(timeout: 10) { self.grantsLeases(index) }, "the leader does not decide after the import: \(indexLogs())")
        XCTAssertEqual(try client.line("node state \(cluster.node(1).host) \(cluster.node(1).port) active"), "OK")
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
