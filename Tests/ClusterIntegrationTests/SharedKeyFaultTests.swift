import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Replication safety under faults: six clients write the same 20 keys (and 4 counters) through
/// the master and through a proxy while the master dies, pauses or is cut off, then the final state
/// is checked against the history (see `SharedKeyChecks`). Cluster: node 1 master, node 2 slave,
/// node 3 proxy, `--replication-type sync`, the shipped monitor settings.
///
/// Every scenario runs in the normal suite; scripts/fault-test runs them alone with a summary.
final class SharedKeyFaultTests: ClusterTestCase {
    static let monitor = ["--monitor-interval", "1", "--monitor-threshold", "2", "--monitor-read-timeout", "300"]
    static let availabilityBound = 10.0
    private var namespace: NetworkNamespace?

    override func tearDown() {
        // Daemons first (a namespace with a process in it lingers), then the namespace and links.
        cluster?.shutdown(keepFiles: true)
        namespace?.remove()
        namespace = nil
        super.tearDown()
    }

    // MARK: scenarios

    /// (i) No fault: a correct cluster must pass every check.
    func testNoFaultBaseline() throws {
        try runScenario(label: "baseline") { _ in
            usleep(3_000_000)
        }
    }

    /// (ii) kill -9 of the master, twice; each old master restarts with rejoin-as-slave and is
    /// waited for until it is an active slave again.
    func testMasterKilledTwice() throws {
        try runScenario(label: "kill-master-twice", nodeExtra: ["--rejoin-as-slave", "true"]) { run in
            for (victim, survivor) in [(1, 2), (2, 1)] {
                self.cluster.node(victim).daemon.kill9()
                run.fault("kill -9 master node \(victim)")
                XCTAssertTrue(self.cluster.waitForIndex(survivor, role: "master", state: "active", partition: 0, timeout: 15),
                              "node \(survivor) not promoted: \(self.cluster.mapsReport())")
                run.awaitAvailability()
                try self.cluster.startNode(victim, extra: run.nodeArguments)
                XCTAssertTrue(self.cluster.waitForIndex(victim, role: "slave", state: "active", partition: 0, timeout: 30),
                              "node \(victim) did not rejoin as an active slave: \(self.cluster.mapsReport())")
                run.workload.waitForAcks(100, timeout: 5)
            }
        }
    }

    /// (iii) SIGSTOP of the master for 3 s, then SIGCONT.
    func testMasterPaused() throws {
        try runScenario(label: "sigstop-master") { run in
            self.cluster.node(1).daemon.signal(SIGSTOP)
            run.fault("SIGSTOP master node 1 for 3 s")
            usleep(3_000_000)
            self.cluster.node(1).daemon.signal(SIGCONT)
            run.awaitAvailability()
            run.workload.waitForAcks(100, timeout: 5)
        }
    }

    /// (iv) kill -9 of the slave, restarted within 0.3 s.
    func testSlaveKilledAndRestarted() throws {
        try runScenario(label: "kill-slave-restart", nodeExtra: ["--rejoin-as-slave", "true"]) { run in
            self.cluster.node(2).daemon.kill9()
            run.fault("kill -9 slave node 2, restart within 0.3 s")
            usleep(200_000)
            try self.cluster.startNode(2, extra: run.nodeArguments)
            run.awaitAvailability()
            XCTAssertTrue(self.cluster.waitForIndex(2, role: "slave", state: "active", partition: 0, timeout: 30),
                          "node 2 did not come back as an active slave: \(self.cluster.mapsReport())")
            run.workload.waitForAcks(100, timeout: 5)
        }
    }

    /// (v) flarei killed and restarted under load.
    func testIndexRestarted() throws {
        try runScenario(label: "restart-index") { run in
            run.fault("kill -9 flarei and start it again")
            try self.cluster.restartIndex()
            run.awaitAvailability()
            usleep(2_000_000)
        }
    }

    /// (vi) The slave rebuilt (flare-admin reconstruct: down, flush, construct again) while the
    /// clients mostly delete.
    func testSlaveRebuiltUnderDeletes() throws {
        var configuration = SharedKeyWorkload.Configuration()
        configuration.weights = [.set: 2, .delete: 5, .append: 2, .incr: 1, .cas: 1]
        // 3000 unchecked filler items and 1 ms per copied item make the copy last ~3 s, so that
        // deletes land while it runs.
        try runScenario(label: "rebuild-slave", workload: configuration, fillers: 3000,
                        perNode: [2: ["--reconstruction-interval", "1000"]]) { run in
            run.fault("flare-admin reconstruct slave node 2")
            let result = try self.cluster.admin("reconstruct", self.cluster.key(2), "--force", "--unsafe", timeout: 60)
            XCTAssertEqual(result.status, 0, "reconstruct: \(result)")
            print(String(format: "[SharedKeyFaultTests] reconstruct finished after %.1f s", result.seconds))
            run.awaitAvailability()
            XCTAssertTrue(self.cluster.waitForIndex(2, role: "slave", state: "active", partition: 0, timeout: 30),
                          "node 2 not an active slave after the rebuild: \(self.cluster.mapsReport())")
            run.workload.waitForAcks(100, timeout: 5)
        }
    }

    /// (vii) The master, alone in a network namespace, cut off from the index and its peers for
    /// 4 s (its veth link down), then reconnected.
    func testMasterIsolated() throws {
        guard geteuid() == 0 else { return XCTFail("this scenario creates a network namespace: run it as root") }
        guard FileManager.default.isExecutableFile(atPath: NetworkNamespace.ip) else {
            return XCTFail("this scenario needs \(NetworkNamespace.ip) (iproute2)")
        }
        let space = try NetworkNamespace.create()
        namespace = space
        // The index and nodes 2 and 3 listen on the host end of the veth pair, node 1 on the far end.
        cluster.indexHost = space.hostAddress
        cluster.nodeHosts = [1: space.innerAddress, 2: space.hostAddress, 3: space.hostAddress]
        cluster.nodeWrappers = [1: [NetworkNamespace.ip, "netns", "exec", space.name]]
        // A seventh client lives next to the master, so the master can be written to while cut off.
        var configuration = SharedKeyWorkload.Configuration()
        configuration.clients = 7
        configuration.clientNamespaces = [6: space.name]
        try runScenario(label: "isolate-master", workload: configuration) { run in
            try space.setLink(up: false)
            run.fault("master node 1 isolated for 4 s (link \(space.innerLink) down)")
            usleep(3_900_000)
            // Only the index: asking the cut-off node would hold the link down for its timeout.
            print("[SharedKeyFaultTests] index map at the end of the isolation: \((try? self.cluster.indexClient(timeout: 0.5).statsNodes())?.summary ?? "unreachable")")
            try space.setLink(up: true)
            run.awaitAvailability()
            run.workload.waitForAcks(100, timeout: 5)
        }
    }

    // MARK: the common run

    /// State of one scenario run, handed to its fault.
    final class Run {
        let workload: SharedKeyWorkload
        let nodeArguments: [String]
        let proxy: () -> (host: String, port: Int)
        var faults: [(label: String, at: Double)] = []
        /// Per fault: seconds until a write through the proxy was acknowledged again (nil: never).
        var recoveries: [(label: String, seconds: Double?)] = []

        init(workload: SharedKeyWorkload, nodeArguments: [String], proxy: @escaping () -> (host: String, port: Int)) {
            self.workload = workload
            self.nodeArguments = nodeArguments
            self.proxy = proxy
        }

        private var probe: AvailabilityProbe?

        /// Marks the start of a fault and starts probing writes through the proxy from that moment.
        func fault(_ label: String) {
            print("[SharedKeyFaultTests] fault at \(String(format: "%.3f", workload.time(now()))): \(label)")
            faults.append((label, now()))
            probe = AvailabilityProbe(label: label, target: proxy(), bound: SharedKeyFaultTests.availabilityBound * 1.5)
        }

        /// Waits for the probe of the last fault and records its result.
        func awaitAvailability() {
            guard let probe else { return }
            self.probe = nil
            let seconds = probe.result()
            recoveries.append((probe.label, seconds))
            print("[SharedKeyFaultTests] writes through the proxy acknowledged again " +
                  (seconds.map { String(format: "%.2f s", $0) } ?? "never (within \(probe.bound) s)") + " after: \(probe.label)" +
                  (probe.failures.isEmpty ? "" : "; failed probes: \(probe.failures)"))
        }
    }

    private func runScenario(label: String, nodeExtra: [String] = [], workload configuration: SharedKeyWorkload.Configuration = .init(),
                             fillers: Int = 0, perNode: [Int: [String]] = [:], fault: (Run) throws -> Void) throws {
        let started = now()
        cluster.monitorArguments = Self.monitor
        let nodeArguments = ["--replication-type", "sync"] + nodeExtra
        try cluster.startIndex()
        for number in [1, 2, 3] { try cluster.startNode(number, extra: nodeArguments + (perNode[number] ?? [])) }
        XCTAssertTrue(waitUntil(timeout: 10) { (try? self.cluster.indexStatsNodes()).map { $0.count == 3 && $0.values.allSatisfy { $0.state == "active" } } == true }, "nodes did not register: \(cluster.mapsReport())")
        try cluster.makeFirstMaster(1)
        let slave = cluster.node(2)
        XCTAssertEqual(try cluster.indexCommand("node role \(slave.host) \(slave.port) slave 0 0"), "OK")
        XCTAssertTrue(cluster.waitForIndex(2, role: "slave", state: "active", partition: 0), "slave construction: \(cluster.mapsReport())")
        XCTAssertEqual(try cluster.indexCommand("node role \(slave.host) \(slave.port) slave 1 0"), "OK")
        XCTAssertTrue(cluster.waitForMapsInSync([1, 2, 3]), cluster.mapsReport())
        if fillers > 0 {
            XCTAssertEqual(try cluster.load(keyNames("fill-", fillers).map { ($0, "filler", UInt32(0)) }, through: 3), [])
        }

        let master = MasterTracker(cluster: cluster, initial: cluster.key(1))
        let proxyNode = (host: cluster.node(3).host, port: cluster.node(3).port)
        let workload = SharedKeyWorkload(configuration) { target in
            target == .proxy ? proxyNode : master.current()
        }
        try workload.prepare()
        let run = Run(workload: workload, nodeArguments: nodeArguments, proxy: { proxyNode })
        workload.start()
        defer { workload.stop() }
        XCTAssertTrue(workload.waitForAcks(200, timeout: 10), "the workload makes no progress")
        usleep(1_500_000)  // the fault hits a steady load

        try fault(run)
        workload.freezeHalf()

        // Quiescence: every writer stopped, then the cluster stable (see `waitForStableCluster`).
        usleep(1_000_000)
        workload.stop()
        let stable = waitForStableCluster()
        XCTAssertTrue(stable, "the cluster did not settle: \(cluster.mapsReport())")

        var checks = SharedKeyChecks()
        let history = workload.history
        if let directory = ProcessInfo.processInfo.environment["FLARE_FAULT_HISTORY"] {
            // For reading a run by hand: one operation per line, in send order.
            let path = "\(directory)/\(label)-\(workload.configuration.seed).history"
            let text = history.sorted { $0.sent < $1.sent }.map { "\($0.key) \($0)" }.joined(separator: "\n") + "\n"
            try? text.write(toFile: path, atomically: true, encoding: .utf8)
            print("[SharedKeyFaultTests] history written to \(path)")
        }
        let map = (try? cluster.indexStatsNodes()) ?? [:]
        let replicas = map.filter { $0.value.partition == 0 && $0.value.state == "active" && ($0.value.role == "master" || $0.value.role == "slave") }
            .sorted { ($0.value.role == "master" ? 0 : 1, $0.key) < ($1.value.role == "master" ? 0 : 1, $1.key) }
        XCTAssertEqual(replicas.first?.value.role, "master", "no active master after the run: \(cluster.mapsReport())")

        // a. Replicas identical; the last writes may still be on their way, so wait a little for agreement.
        var dumps: [(node: String, items: [String: DumpedItem])] = []
        _ = waitUntil(timeout: 5, interval: 0.2) {
            dumps = replicas.map { entry in
                let parts = entry.key.split(separator: ":")
                let items = (try? TestClient(host: String(parts[0]), port: Int(parts[1])!, timeout: 5).dump()) ?? [:]
                // Probe keys are left out: only their count would grow with the length of an outage.
                return ("\(entry.value.role) \(entry.key)", items.filter { !$0.key.hasPrefix("probe-") })
            }
            return dumps.allSatisfy { $0.items == dumps.first?.items }
        }
        checks.checkReplicas(dumps, history: history)

        // b–d against the master's items.
        let final = dumps.first?.items ?? [:]
        for key in workload.dataKeys { checks.checkDataKey(key, final: final[key]?.value, history: history) }
        for key in workload.counterKeys { checks.checkCounter(key, final: final[key]?.value, history: history) }

        // e.
        for recovery in run.recoveries where (recovery.seconds ?? .infinity) > Self.availabilityBound {
            checks.flag("e-availability", "writes through the proxy not acknowledged within \(Self.availabilityBound) s of: \(recovery.label) (\(recovery.seconds.map { String(format: "%.2f s", $0) } ?? "never"))")
        }

        let counts = Dictionary(grouping: history, by: \.outcome).mapValues(\.count)
        let kinds = SharedOpKind.allCases.map { kind in
            let ops = history.filter { $0.kind == kind }
            return "\(kind.rawValue) \(ops.filter { $0.outcome == .acked }.count)/\(ops.filter { $0.outcome == .refused }.count)/\(ops.filter { $0.outcome == .uncertain }.count)"
        }
        print("[SharedKeyFaultTests] \(label) acked/refused/uncertain per kind: " + kinds.joined(separator: ", "))
        print(String(format: "[SharedKeyFaultTests] RESULT %@: %@ | ops %d (acked %d, refused %d, uncertain %d) | recovery %@ | %.1f s",
                     label, checks.summary, history.count, counts[.acked] ?? 0, counts[.refused] ?? 0, counts[.uncertain] ?? 0,
                     run.recoveries.map { $0.seconds.map { String(format: "%.2f s", $0) } ?? "never" }.joined(separator: ", "),
                     now() - started))
        for check in SharedKeyChecks.names {
            guard let offending = checks.violations[check], !offending.isEmpty else { continue }
            XCTFail("\(label): check \(check) failed for \(offending.count) key(s) (seed \(workload.configuration.seed)):\n" +
                    offending.prefix(6).joined(separator: "\n") + (offending.count > 6 ? "\n… and \(offending.count - 6) more" : ""))
        }
    }

    /// Stable: the index answers, partition 0 has an active master, no node is being prepared, and
    /// the map (and every running node's copy of it) stays the same for one second. Bounded: 20 s.
    private func waitForStableCluster() -> Bool {
        var last: [String: NodeEntryStat]?
        var since = now()
        return waitUntil(timeout: 20, interval: 0.2) {
            guard let map = try? cluster.indexStatsNodes(),
                  map.values.contains(where: { $0.role == "master" && $0.state == "active" && $0.partition == 0 }),
                  !map.values.contains(where: { $0.state == "prepare" }) else { last = nil; return false }
            let running = cluster.nodes.filter { $0.value.daemon.isRunning }.map(\.key)
            guard running.allSatisfy({ (try? cluster.nodeStatsNodes($0)) == map }) else { last = nil; return false }
            if map != last { last = map; since = now(); return false }
            return now() - since >= 1
        }
    }
}

/// e. From the moment of a fault, `set`s of keys outside the checked ones through the proxy, each on
/// a fresh connection with a 1 s timeout, until one is STORED; bounded by `bound` seconds.
final class AvailabilityProbe: @unchecked Sendable {
    let label: String
    let bound: Double
    private let lock = NSLock()
    private var seconds: Double?
    private var done = false
    private(set) var failures: [String: Int] = [:]

    init(label: String, target: (host: String, port: Int), bound: Double) {
        self.label = label
        self.bound = bound
        let started = now()
        let thread = Thread { [self] in
            var attempt = 0
            let ok = waitUntil(timeout: bound, interval: 0.05) {
                attempt += 1
                let reply: String
                do {
                    reply = try TestClient(host: target.host, port: target.port, timeout: 1).store("set", "probe-\(attempt)", "p") ?? ""
                } catch {
                    reply = "\(error)"
                }
                if reply != "STORED" {
                    lock.lock()
                    failures[String(reply.prefix(70)), default: 0] += 1
                    lock.unlock()
                }
                return reply == "STORED"
            }
            lock.lock()
            seconds = ok ? now() - started : nil
            done = true
            lock.unlock()
        }
        thread.start()
    }

    /// Seconds from the fault until a probe was acknowledged (nil: not within the bound).
    func result() -> Double? {
        _ = waitUntil(timeout: bound + 5) {
            lock.lock()
            defer { lock.unlock() }
            return done
        }
        lock.lock()
        defer { lock.unlock() }
        return seconds
    }
}

/// The master of partition 0 as the index last reported it; the last known one while the index
/// is unreachable. Asked by clients when they (re)connect.
final class MasterTracker: @unchecked Sendable {
    private let cluster: TestCluster
    private let lock = NSLock()
    private var known: String

    init(cluster: TestCluster, initial: String) {
        self.cluster = cluster
        known = initial
    }

    func current() -> (host: String, port: Int)? {
        if let map = try? TestClient(host: cluster.indexHost, port: cluster.indexPort, timeout: 1).statsNodes(),
           let master = map.first(where: { $0.value.role == "master" && $0.value.partition == 0 && $0.value.state == "active" }) {
            lock.lock()
            known = master.key
            lock.unlock()
        }
        lock.lock()
        defer { lock.unlock() }
        let parts = known.split(separator: ":")
        return (String(parts[0]), Int(parts[1]) ?? 0)
    }
}

/// A network namespace with a veth pair on a /30 the test picks among unused private addresses:
/// `hostAddress` on the host end, `innerAddress` on the end inside the namespace.
final class NetworkNamespace {
    static let ip = "/usr/sbin/ip"
    let name: String
    let hostLink: String
    let innerLink: String
    let hostAddress: String
    let innerAddress: String

    private init(name: String, hostLink: String, innerLink: String, hostAddress: String, innerAddress: String) {
        self.name = name
        self.hostLink = hostLink
        self.innerLink = innerLink
        self.hostAddress = hostAddress
        self.innerAddress = innerAddress
    }

    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        let process = Process()
        let pipe = Pipe()
        process.executableURL = URL(fileURLWithPath: ip)
        process.arguments = arguments
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ClientError.unexpected("ip \(arguments.joined(separator: " "))", output)
        }
        return output
    }

    /// Picks a 10.231.<n>.0/30 that no local interface or route uses, creates the namespace and the
    /// pair; removes whatever it made if a step fails.
    static func create() throws -> NetworkNamespace {
        let used = (try? run(["-4", "addr", "show"])) ?? ""
        let routes = (try? run(["-4", "route", "show", "table", "all"])) ?? ""
        let base = Int(getpid()) % 200
        guard let third = (0..<50).map({ (base + $0) % 250 + 1 }).first(where: { !used.contains("10.231.\($0).") && !routes.contains("10.231.\($0).") }) else {
            throw ClientError.unexpected("choose a /30", "every 10.231.x.0/30 tried is in use")
        }
        removeLeftovers()
        let tag = "\(getpid())"
        let space = NetworkNamespace(name: "flare-ft-\(tag)", hostLink: "flft\(tag)h", innerLink: "flft\(tag)n",
                                     hostAddress: "10.231.\(third).1", innerAddress: "10.231.\(third).2")
        do {
            try run(["netns", "add", space.name])
            try run(["link", "add", space.hostLink, "type", "veth", "peer", "name", space.innerLink])
            try run(["link", "set", space.innerLink, "netns", space.name])
            try run(["addr", "add", space.hostAddress + "/30", "dev", space.hostLink])
            try run(["link", "set", space.hostLink, "up"])
            try run(["netns", "exec", space.name, ip, "addr", "add", space.innerAddress + "/30", "dev", space.innerLink])
            try run(["netns", "exec", space.name, ip, "link", "set", space.innerLink, "up"])
            try run(["netns", "exec", space.name, ip, "link", "set", "lo", "up"])
        } catch {
            space.remove()
            throw error
        }
        print("[SharedKeyFaultTests] namespace \(space.name): \(space.hostLink) \(space.hostAddress)/30 <-> \(space.innerLink) \(space.innerAddress)/30")
        return space
    }

    /// Namespaces (and their host links) of earlier runs whose test process died before its tearDown.
    static func removeLeftovers() {
        let names = ((try? run(["netns", "list"])) ?? "").split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
        for name in names where name.hasPrefix("flare-ft-") {
            guard let pid = Int32(name.dropFirst("flare-ft-".count)), kill(pid, 0) != 0 else { continue }
            _ = try? run(["netns", "del", name])
            _ = try? run(["link", "del", "flft\(pid)h"])
        }
    }

    /// Cuts or restores the link from inside the namespace, so the host end keeps its address.
    func setLink(up: Bool) throws {
        try Self.run(["netns", "exec", name, Self.ip, "link", "set", innerLink, up ? "up" : "down"])
    }

    /// Deletes the namespace (which destroys the pair) and the host end in case it survived.
    func remove() {
        _ = try? Self.run(["netns", "del", name])
        _ = try? Self.run(["link", "del", hostLink])
    }
}
