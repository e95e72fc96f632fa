import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A ZooKeeper ensemble of three servers on loopback, from Debian's `zookeeper` package (Java),
/// each with its own zoo.cfg and myid in a temporary directory. Its nine ports (clients, quorum,
/// election) lie below the ephemeral range, where `freePort` never picks one, at an offset from the
/// test process's pid so that two test runs on one machine do not meet.
final class ZooKeeperEnsemble {
    static let jar = "/usr/share/java/zookeeper.jar"
    static let java = "/usr/bin/java"
    static var isInstalled: Bool {
        FileManager.default.fileExists(atPath: jar) && FileManager.default.isExecutableFile(atPath: java)
    }

    let root: URL
    private(set) var servers: [Daemon?] = [nil, nil, nil]
    static let basePort = 20000 + Int(getpid() % 1000) * 12
    static let clientPorts = [basePort, basePort + 1, basePort + 2]

    /// The address clients reach the servers at (loopback, or the host end of a test's veth pair
    /// so that a process in a network namespace reaches them too).
    let host: String

    /// `host:port,host:port,host:port`, as in `index-db = zookeeper://…/path`.
    var connectString: String { Self.clientPorts.map { "\(host):\($0)" }.joined(separator: ",") }

    init(host: String = "127.0.0.1") throws {
        self.host = host
        root = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("flare-zk-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        for id in 1...3 {
            let dir = root.appendingPathComponent("zk\(id)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try "\(id)\n".write(to: dir.appendingPathComponent("myid"), atomically: true, encoding: .utf8)
            // tickTime 500 ms: sessions of 1–10 s are allowed (flarei asks for 4 s).
            var config = """
            tickTime=500
            initLimit=20
            syncLimit=4
            dataDir=\(dir.path)
            clientPort=\(Self.clientPorts[id - 1])
            clientPortAddress=\(host)
            admin.enableServer=false
            4lw.commands.whitelist=srvr,ruok
            """
            for peer in 1...3 { config += "\nserver.\(peer)=127.0.0.1:\(Self.basePort + 2 + peer):\(Self.basePort + 5 + peer)" }
            try (config + "\n").write(to: dir.appendingPathComponent("zoo.cfg"), atomically: true, encoding: .utf8)
        }
    }

    func start(_ id: Int) throws {
        let dir = root.appendingPathComponent("zk\(id)")
        let daemon = Daemon(label: "zookeeper \(id)", executable: URL(fileURLWithPath: Self.java),
                            arguments: ["-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", "/etc/zookeeper/conf:\(Self.jar)",
                                        "org.apache.zookeeper.server.quorum.QuorumPeerMain", dir.appendingPathComponent("zoo.cfg").path],
                            logPath: root.appendingPathComponent("zk\(id).log").path)
        try daemon.start()
        servers[id - 1] = daemon
    }

    /// Starts all three and waits until they formed a quorum (each answers `srvr` with a mode).
    func startAll(timeout: Double = 60) throws {
        for id in 1...3 { try start(id) }
        guard waitUntil(timeout: timeout, interval: 0.2, { (1...3).allSatisfy { mode(of: $0) != nil } }) else {
            throw ClientError.timeout("ZooKeeper ensemble to form a quorum:\n" + (1...3).map { servers[$0 - 1]?.logTail(10) ?? "" }.joined(separator: "\n"))
        }
    }

    /// `leader` or `follower` from the four-letter `srvr` command; nil when the server does not serve.
    func mode(of id: Int) -> String? {
        guard let client = try? TestClient(host: host, port: Self.clientPorts[id - 1], timeout: 1),
              (try? client.send(Array("srvr".utf8))) != nil else { return nil }
        while let line = try? client.readLine() {
            if line.hasPrefix("Mode: ") { return String(line.dropFirst("Mode: ".count)) }
        }
        return nil
    }

    func kill(_ id: Int) {
        servers[id - 1]?.kill9()
        servers[id - 1] = nil
    }

    func shutdown() {
        for id in 1...3 { kill(id) }
        try? FileManager.default.removeItem(at: root)
    }
}
