#if canImport(Glibc)
import Glibc
#endif
import Atomics
import Dispatch
import FlareConfig
import FlareNet
import Logging

/// This node's place in the cluster: the node map it serves by, and its link to the index server.
///
/// With no index server configured the node is a single-node cluster: the master of partition 0,
/// owning every key. With index servers configured but unreachable it does the same while a
/// background task keeps trying, so clients are never refused because the index is away.
/// Readers on worker threads take a snapshot under `lock`; the background task and the main thread
/// replace it.
final class NodeMembership: @unchecked Sendable {
    private let lock = Lock()
    private var settings: NodeSettings
    private let logger: Logger
    private let running = ManagedAtomic<Bool>(false)
    private let versionValue = ManagedAtomic<UInt64>(0)
    private var indexReachable = false
    static let retryInterval: Double = 2

    init(settings: NodeSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    var nodeKey: String { lock.withLock { "\(settings.serverName):\(settings.serverPort)" } }
    var mapVersion: UInt64 { versionValue.load(ordering: .relaxed) }

    /// `stats nodes` of the map this node serves by: in standalone mode, itself as master of partition 0.
    func statsNodeLines() -> [String] {
        let key = nodeKey
        return ["STAT \(key):role master", "STAT \(key):state active", "STAT \(key):partition 0",
                "STAT \(key):balance 1", "STAT \(key):thread_type 16"]
    }

    /// Whether `key` falls in `partition` of `count` partitions, for `dump` filters.
    func belongs(_ key: UnsafeRawBufferPointer, partition: Int, count: Int) -> Bool {
        partition == 0 && count == 1 // PLACEHOLDER-UNTIL-CLUSTER
    }

    func update(settings: NodeSettings) {
        lock.withLock { self.settings = settings }
    }

    func start() {
        let servers = lock.withLock { settings.indexServers }
        if servers.isEmpty {
            logger.notice("no index server configured: serving standalone as the only master of partition 0")
            return
        }
        logger.notice("index servers \(servers.map(\.description).joined(separator: ",")): serving standalone until one answers")
        running.store(true, ordering: .relaxed)
        probe()
    }

    func stop() { running.store(false, ordering: .relaxed) }

    /// Tries the index servers in the background until one answers; never blocks a worker.
    private func probe() {
        guard running.load(ordering: .relaxed) else { return }
        let servers = lock.withLock { settings.indexServers }
        DispatchQueue.global().async { [self] in
            let answering = servers.first { IndexProbe.ping(host: $0.name, port: $0.port, timeoutMilliseconds: 1000) }
            let reachable = answering != nil
            let changed = lock.withLock { () -> Bool in
                defer { indexReachable = reachable }
                return indexReachable != reachable
            }
            if changed, let answering {
                logger.notice("index server \(answering) answers")
            } else if changed || !reachable && !loggedUnreachable {
                loggedUnreachable = true
                logger.warning("no index server answers (\(servers.map(\.description).joined(separator: ","))); still serving standalone, retrying every \(Int(Self.retryInterval)) s")
            }
            DispatchQueue.global().asyncAfter(deadline: .now() + Self.retryInterval) { [self] in probe() }
        }
    }

    private var loggedUnreachable = false
}

/// A one-shot `ping` to an index server over a blocking socket with a deadline.
enum IndexProbe {
    static func ping(host: String, port: Int, timeoutMilliseconds: Int) -> Bool {
        guard let fd = LineClient.connect(host: host, port: port, timeoutMilliseconds: timeoutMilliseconds) else { return false }
        defer { close(fd) }
        guard LineClient.send(fd, "ping\r\n") else { return false }
        return LineClient.readLine(fd) == "OK"
    }
}
