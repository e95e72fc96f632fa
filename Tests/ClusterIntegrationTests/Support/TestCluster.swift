import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// One flared of the test cluster: host 127.0.0.<n>, its own port and data directory.
final class NodeProcess {
    let number: Int
    let host: String
    let port: Int
    let dataDir: URL
    var daemon: Daemon

    init(number: Int, host: String, port: Int, dataDir: URL, daemon: Daemon) {
        self.number = number
        self.host = host
        self.port = port
        self.dataDir = dataDir
        self.daemon = daemon
    }

    var key: String { "\(host):\(port)" }
}

/// A flarei and up to four flared on loopback (127.0.0.1 … .4), each with a data directory under
/// one temporary directory. Everything is killed (by pid) in `shutdown()`.
final class TestCluster {
    let name: String
    let root: URL
    /// The index the helpers ask (`indexClient`, `waitForIndex`…); a test with several moves it.
    var indexPort: Int
    private(set) var index: Daemon!
    private(set) var nodes: [Int: NodeProcess] = [:]
    private var allDaemons: [Daemon] = []

    /// Short monitor settings so that failures are noticed within about 1–2 s.
    static let indexMonitorArguments = ["--monitor-interval", "1", "--monitor-threshold", "2", "--monitor-read-timeout", "500"]
    /// The monitor settings this cluster's flarei starts with (kept across `restartIndex`).
    var monitorArguments = TestCluster.indexMonitorArguments
    /// The address flarei listens on and is reached at; loopback unless a test moves it.
    var indexHost = "127.0.0.1"
    /// Per-node address instead of 127.0.0.<n> (e.g. a veth address of a test's network namespace).
    var nodeHosts: [Int: String] = [:]
    /// Per-node command prefix, e.g. `ip netns exec <ns>`; such a node's port is picked on loopback,
    /// which is free in a fresh namespace too.
    var nodeWrappers: [Int: [String]] = [:]
    /// `index-servers` of the nodes when not just `indexAddress` (several index servers).
    var nodeIndexServers: String?
    /// A command prefix for flarei, as `nodeWrappers` for nodes.
    var indexWrapper: [String] = []

    init(name: String) throws {
        self.name = name
        root = URL(fileURLWithPath: NSTemporaryDirectory())
            .appendingPathComponent("flare-ctest-\(name)-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        indexPort = freePort(host: "127.0.0.1")
    }

    var indexAddress: String { "\(indexHost):\(indexPort)" }
    var indexDataDir: URL { root.appendingPathComponent("i") }

    // MARK: processes

    /// Keeps a daemon started by the test itself, so `shutdown` kills it too.
    func adopt(_ daemon: Daemon) { allDaemons.append(daemon) }

    func startIndex(extra: [String] = []) throws {
        try FileManager.default.createDirectory(at: indexDataDir, withIntermediateDirectories: true)
        let daemon = Daemon(label: "flarei", executable: Executables.url("flarei"),
                            arguments: ["--data-dir", indexDataDir.path, "--server-name", indexHost, "--server-address", indexHost,
                                        "--server-port", String(indexPort)] + monitorArguments + extra,
                            logPath: root.appendingPathComponent("flarei.log").path, prefix: indexWrapper)
        try daemon.start()
        index = daemon
        allDaemons.append(daemon)
        guard waitUntil(timeout: 10, { (try? TestClient(host: indexHost, port: indexPort, timeout: 1).line("ping")) == "OK" }) else {
            throw ClientError.timeout("flarei to answer ping on \(indexAddress)\n\(daemon.logTail())")
        }
    }

    /// Kills the index with SIGKILL and starts it again on the same data directory and port.
    func restartIndex() throws {
        index.kill9()
        try startIndex()
    }

    @discardableResult
    func startNode(_ number: Int, extra: [String] = []) throws -> NodeProcess {
        let host = nodeHosts[number] ?? "127.0.0.\(number)"
        let wrapper = nodeWrappers[number] ?? []
        let port = nodes[number]?.port ?? freePort(host: wrapper.isEmpty ? host : "127.0.0.1")
        let dataDir = root.appendingPathComponent("n\(number)")
        try FileManager.default.createDirectory(at: dataDir, withIntermediateDirectories: true)
        let daemon = Daemon(label: "flared \(host):\(port)", executable: Executables.url("flared"),
                            arguments: ["--data-dir", dataDir.path, "--server-name", host, "--server-address", host,
                                        "--server-port", String(port), "--index-servers", nodeIndexServers ?? indexAddress,
                                        "--thread-pool-size", "2"] + extra,
                            logPath: root.appendingPathComponent("n\(number).log").path, prefix: wrapper)
        try daemon.start()
        allDaemons.append(daemon)
        let node = NodeProcess(number: number, host: host, port: port, dataDir: dataDir, daemon: daemon)
        nodes[number] = node
        guard waitUntil(timeout: 10, { (try? TestClient(host: host, port: port, timeout: 1).line("version"))?.hasPrefix("VERSION") == true }) else {
            throw ClientError.timeout("flared \(node.key) to answer version\n\(daemon.logTail())")
        }
        return node
    }

    /// Starts the nodes and waits until the index lists all of them as proxy/active.
    func startNodes(_ numbers: [Int], extra: [String] = []) throws {
        for number in numbers { try startNode(number, extra: extra) }
        let keys = numbers.map { node($0).key }
        guard waitUntil(timeout: 10, {
            guard let map = try? indexStatsNodes() else { return false }
            return keys.allSatisfy { map[$0]?.state == "active" }
        }) else {
            throw ClientError.timeout("nodes \(keys) to register: \(String(describing: try? indexStatsNodes()))")
        }
    }

    func node(_ number: Int) -> NodeProcess { nodes[number]! }
    func key(_ number: Int) -> String { node(number).key }

    /// Every daemon started so far gets SIGKILL (by pid); the directory is removed.
    func shutdown(keepFiles: Bool = false) {
        for daemon in allDaemons { daemon.kill9() }
        if !keepFiles { try? FileManager.default.removeItem(at: root) }
    }

    /// The last lines of every daemon's log, for failure reports.
    func logs(lines: Int = 30) -> String {
        var text = "=== flarei log (\(root.path)):\n" + (index?.logTail(lines) ?? "")
        for number in nodes.keys.sorted() {
            text += "\n=== n\(number) \(key(number)) log:\n" + node(number).daemon.logTail(lines)
        }
        return text
    }

    // MARK: clients

    func indexClient(timeout: Double = 5) throws -> TestClient {
        try TestClient(host: indexHost, port: indexPort, timeout: timeout)
    }

    func client(_ number: Int, timeout: Double = 5) throws -> TestClient {
        try TestClient(host: node(number).host, port: node(number).port, timeout: timeout)
    }

    /// One request line to the index, its one-line reply.
    @discardableResult
    func indexCommand(_ line: String) throws -> String {
        try indexClient().line(line)
    }

    func indexStatsNodes() throws -> [String: NodeEntryStat] {
        try indexClient().statsNodes()
    }

    func nodeStatsNodes(_ number: Int) throws -> [String: NodeEntryStat] {
        try client(number).statsNodes()
    }

    /// Waits until the index shows `role/state` for the node; returns the last map seen.
    @discardableResult
    func waitForIndex(_ number: Int, role: String, state: String, partition: Int? = nil, timeout: Double = 10) -> Bool {
        let key = key(number)
        return waitUntil(timeout: timeout, interval: 0.05) {
            guard let entry = try? indexStatsNodes()[key] else { return false }
            return entry.role == role && entry.state == state && (partition == nil || entry.partition == partition)
        }
    }

    /// Waits until node `viewer`'s own `stats nodes` shows `role/state` for node `number`.
    @discardableResult
    func waitForView(of viewer: Int, _ number: Int, role: String, state: String, timeout: Double = 10) -> Bool {
        let key = key(number)
        return waitUntil(timeout: timeout, interval: 0.05) {
            guard let entry = try? nodeStatsNodes(viewer)[key] else { return false }
            return entry.role == role && entry.state == state
        }
    }

    /// Waits until every running node holds the same `stats nodes` as the index.
    @discardableResult
    func waitForMapsInSync(_ numbers: [Int], timeout: Double = 10) -> Bool {
        waitUntil(timeout: timeout, interval: 0.05) {
            guard let reference = try? indexStatsNodes() else { return false }
            return numbers.allSatisfy { (try? nodeStatsNodes($0)) == reference }
        }
    }

    /// The index's and every node's `stats nodes` and `node_map_version`, for failure messages.
    func mapsReport() -> String {
        var text = "index v\((try? indexClient().stats()["node_map_version"]) ?? "?"): \((try? indexStatsNodes())?.summary ?? "unreachable")"
        for number in nodes.keys.sorted() {
            text += "\nnode \(number) v\((try? client(number).stats()["node_map_version"]) ?? "?"): \((try? nodeStatsNodes(number))?.summary ?? "unreachable")"
        }
        return text
    }

    /// Makes node `number` the master of partition 0 of an empty cluster (raw index command).
    func makeFirstMaster(_ number: Int) throws {
        let node = node(number)
        let reply = try indexCommand("node role \(node.host) \(node.port) master 1 0")
        guard reply == "OK" else { throw ClientError.unexpected("node role … master 1 0", reply) }
        guard waitForIndex(number, role: "master", state: "active", partition: 0) else {
            throw ClientError.timeout("\(node.key) to become master/active")
        }
        guard waitForMapsInSync(Array(nodes.keys)) else { throw ClientError.timeout("node maps to be pushed:\n" + mapsReport()) }
    }

    func tool(_ name: String, _ arguments: [String], timeout: Int = 60) throws -> ToolRun {
        try runTool(name, ["-i", indexAddress] + arguments, in: root, timeout: timeout)
    }

    func admin(_ arguments: String..., timeout: Int = 60) throws -> ToolRun {
        try runTool("flare-admin", [arguments[0], "-i", indexAddress] + arguments.dropFirst(), in: root, timeout: timeout)
    }

    // MARK: data helpers

    /// Stores `items` through node `number` (one connection, pipelined in chunks); returns replies
    /// that were not STORED.
    func load(_ items: [(key: String, value: String, flags: UInt32)], through number: Int) throws -> [String] {
        let client = try client(number, timeout: 10)
        var failures: [String] = []
        var index = 0
        while index < items.count {
            let chunk = items[index..<min(index + 100, items.count)]
            var bytes: [UInt8] = []
            for item in chunk {
                let value = Array(item.value.utf8)
                bytes += Array("set \(item.key) \(item.flags) 0 \(value.count)\r\n".utf8) + value + [0x0D, 0x0A]
            }
            try client.send(bytes)
            for item in chunk {
                let reply = try client.readLine()
                if reply != "STORED" { failures.append("\(item.key): \(reply)") }
            }
            index += chunk.count
        }
        return failures
    }
}

/// Base class: one cluster per test, killed in tearDown; daemon logs printed when a test fails.
class ClusterTestCase: XCTestCase {
    var cluster: TestCluster!

    override func setUpWithError() throws {
        try super.setUpWithError()
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: Executables.url("flared").path),
                      "flared not found in \(Executables.directory.path); build the package first")
        cluster = try TestCluster(name: String(name.split(separator: " ").last ?? "t").filter { $0.isLetter || $0.isNumber })
    }

    override func tearDown() {
        if let cluster {
            let failed = (testRun?.failureCount ?? 0) + (testRun?.unexpectedExceptionCount ?? 0) > 0
            if failed { print(cluster.logs()) }
            cluster.shutdown(keepFiles: failed && ProcessInfo.processInfo.environment["CTEST_KEEP"] != nil)
        }
        cluster = nil
        super.tearDown()
    }

    /// A three-node cluster: index + nodes 1…3 registered as proxy/active.
    func startCluster(nodes numbers: [Int] = [1, 2, 3], nodeArguments: [Int: [String]] = [:]) throws {
        try cluster.startIndex()
        for number in numbers { try cluster.startNode(number, extra: nodeArguments[number] ?? []) }
        let keys = numbers.map { cluster.key($0) }
        guard waitUntil(timeout: 10, {
            guard let map = try? cluster.indexStatsNodes() else { return false }
            return keys.allSatisfy { map[$0]?.role == "proxy" && map[$0]?.state == "active" }
        }) else {
            throw ClientError.timeout("nodes \(keys) to register: \(String(describing: try? cluster.indexStatsNodes()))")
        }
    }

    /// Node 1 masters partition 0 with node 2 as its active slave (read weight 1); node 3 (if
    /// started) is a proxy. Waits until every node holds that map.
    func startMasterAndSlave(nodeArguments: [Int: [String]] = [:]) throws {
        try startCluster(nodeArguments: nodeArguments)
        try cluster.makeFirstMaster(1)
        let slave = cluster.node(2)
        XCTAssertEqual(try cluster.indexCommand("node role \(slave.host) \(slave.port) slave 1 0"), "OK")
        XCTAssertTrue(cluster.waitForIndex(2, role: "slave", state: "active", partition: 0), cluster.mapsReport())
        XCTAssertTrue(cluster.waitForMapsInSync([1, 2, 3]), cluster.mapsReport())
    }

    /// Logs a measured figure so it shows in the test output.
    func report(_ text: String) {
        print("[ClusterIntegrationTests] \(name): \(text)")
    }
}
