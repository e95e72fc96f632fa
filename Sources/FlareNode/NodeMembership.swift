#if canImport(Glibc)
import Glibc
#endif
import Atomics
import Dispatch
import FlareCluster
import FlareConfig
import FlareNet
import Logging

/// This node's place in the cluster: the map it routes by and its link to the index server.
///
/// With no index server configured the node is a single-node cluster (master of partition 0).
/// With index servers configured it serves standalone too until one answers `node add`, retrying
/// in the background, so clients are never refused because the index is away. Once registered it
/// follows the index's `node sync` pushes.
///
/// State changes happen on background tasks and worker threads under `lock`; every new view is
/// handed to each worker's handler through `Worker.post`, so request paths never lock.
final class NodeMembership: @unchecked Sendable {
    private let lock = Lock()
    private var settings: NodeSettings
    private let logger: Logger
    private var view: ClusterView
    private var resolver: KeyResolver
    private var registered = false
    private var subscribers: [(Worker, NodeHandler)] = []
    private let running = ManagedAtomic<Bool>(false)
    private var warnedUnreachable = false
    /// Called (off the lock, on the thread that applied the push) when the map changes this node's
    /// own entry: the daemon starts reconstructions from here.
    var onSelfChange: ((_ old: NodeEntry?, _ new: NodeEntry, _ view: ClusterView) -> Void)?
    /// Called with the view installed from each map the index sends (registration reply or push).
    var onIndexMap: ((ClusterView) -> Void)?
    /// Called when the number of active partitions grew (a new partition was activated).
    var onPartitionsGrew: ((_ view: ClusterView) -> Void)?
    static let retryInterval: Double = 2
    static let checkInterval: Double = 5

    init(settings: NodeSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
        // Until the index tells us otherwise, use the index's default partitioning.
        resolver = (try? KeyResolver()) ?? KeyResolver(algorithm: .simple, modular: try! ModularResolver())
        view = ClusterView.standalone(name: settings.serverName, port: settings.serverPort, resolver: resolver)
    }

    var current: ClusterView { lock.withLock { view } }
    var selfKey: String { current.selfKey }


    /// Registers a worker's handler to receive every new view.
    func subscribe(worker: Worker, handler: NodeHandler) {
        lock.withLock { subscribers.append((worker, handler)) }
        handler.view = current
    }

    /// Installs `newView` and hands it to every worker. Call with `lock` held, in the critical
    /// section that chose the view: a push and the registration reply run on different threads,
    /// and publishing outside that section let the older map land last (a restarted node then kept
    /// the `proxy/down` map of its `node add` reply after the push that made it `proxy/active`).
    /// `Worker.post` only queues, so the posts keep the same order.
    private func publishLocked(_ newView: ClusterView) {
        view = newView
        for (worker, handler) in subscribers {
            worker.post { handler.view = newView }
        }
    }

    func update(settings: NodeSettings) {
        lock.withLock { self.settings = settings }
    }

    var currentSettings: NodeSettings { lock.withLock { settings } }

    /// Tells the index about this node (`node state …`, `node role …`); false if none accepted it.
    func tellIndex(_ line: String) -> Bool {
        IndexClient.command(line, servers: currentSettings.indexServers)
    }

    // MARK: Index server

    func start() {
        let servers = lock.withLock { settings.indexServers }
        if servers.isEmpty {
            logger.notice("no index server configured: serving standalone as the only master of partition 0")
            return
        }
        logger.notice("registering with index server(s) \(servers.map(\.description).joined(separator: ",")); serving standalone until one answers")
        running.store(true, ordering: .relaxed)
        schedule(after: 0)
    }

    /// Leaves the cluster politely (SIGTERM): the index marks us down at once instead of waiting.
    func stop() {
        guard running.exchange(false, ordering: .relaxed) else { return }
        let (servers, name, port, wasRegistered) = lock.withLock { (settings.indexServers, settings.serverName, settings.serverPort, registered) }
        guard wasRegistered else { return }
        for server in servers where IndexClient.announceShutdown(at: server, name: name, port: port) {
            logger.info("index server \(server) acknowledged our shutdown")
            return
        }
        logger.warning("no index server acknowledged our shutdown; it will notice through its monitor")
    }

    private func schedule(after seconds: Double) {
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [self] in
            guard running.load(ordering: .relaxed) else { return }
            let next = lock.withLock { registered } ? checkRegistration() : register()
            schedule(after: next)
        }
    }

    /// One registration attempt over the configured servers; returns when to run again.
    private func register() -> Double {
        let (servers, name, port) = lock.withLock { (settings.indexServers, settings.serverName, settings.serverPort) }
        var failures: [String] = []
        for server in servers.shuffled() {
            do {
                let registration = try IndexClient.register(at: server, name: name, port: port)
                install(registration, from: server)
                return Self.checkInterval
            } catch {
                failures.append(error.description)
            }
        }
        let first = lock.withLock { () -> Bool in
            defer { warnedUnreachable = true }
            return !warnedUnreachable
        }
        let message = "cannot register: \(failures.joined(separator: "; ")); still serving standalone, retrying every \(Int(Self.retryInterval)) s"
        if first { logger.warning("\(message)") } else { logger.debug("\(message)") }
        return Self.retryInterval
    }

    private func install(_ registration: IndexClient.Registration, from server: IndexServerAddress) {
        lock.withLock {
            registered = true
            warnedUnreachable = false
            resolver = registration.resolver
            // A push may have overtaken the `node add` reply: keep the newer map (the original aborted here).
            if view.version > 0 && !view.standalone {
                publishLocked(makeView(map: view.map, version: view.version))
            } else {
                publishLocked(makeView(map: registration.map, version: 0))
            }
        }
        logger.notice("registered with index server \(server) as \(selfKey)")
        onIndexMap?(current)
    }

    /// Re-registers if the index forgot us (restarted without its data); returns when to check again.
    private func checkRegistration() -> Double {
        let (servers, key) = lock.withLock { (settings.indexServers, view.selfKey) }
        for server in servers {
            switch IndexClient.knows(key, at: server) {
            case .some(true): return Self.checkInterval
            case .some(false):
                logger.warning("index server \(server) no longer lists \(key): registering again")
                lock.withLock {
                    registered = false
                    // The index restarted from scratch: its versions start over too.
                    view = makeView(map: view.map, version: 0)
                }
                return 0
            case .none: continue
            }
        }
        return Self.checkInterval
    }

    /// After a suspension: fetch the index's map and apply it, then let the workers serve again
    /// once they hold it. Retries until an index answers; the node stays fenced meanwhile.
    func confirmAfterStall(_ guardian: StallGuard) {
        logger.warning("this process was suspended: data requests are refused until the index confirms the node map")
        confirmMap(guardian)
    }

    private func confirmMap(_ guardian: StallGuard) {
        DispatchQueue.global().async { [self] in
            let servers = lock.withLock { settings.indexServers }
            for server in servers {
                guard let (map, version) = IndexClient.currentMap(at: server) else { continue }
                _ = applySync(version: version, map: map)
                guardian.confirmed(version: min(version, current.version))
                logger.notice("node map version \(version) confirmed by index server \(server) after the suspension: serving again")
                return
            }
            DispatchQueue.global().asyncAfter(deadline: .now() + 0.5) { [self] in confirmMap(guardian) }
        }
    }

    // MARK: node sync

    enum SyncOutcome { case applied(ClusterView), stale }

    /// Applies a pushed map unless it is older than the one we have (equal versions are accepted).
    func applySync(version: UInt64, map: NodeMap) -> SyncOutcome {
        let result = lock.withLock { () -> (SyncOutcome, ClusterView?, NodeEntry?, Int) in
            if !view.standalone && view.version > 0 && view.version > version { return (.stale, nil, nil, 0) }
            registered = true
            // Our previous entry, if we knew ourselves in a cluster map (not the standalone stand-in).
            let old = view.standalone ? nil : view.me
            let oldCount = view.standalone ? 0 : view.layout.activeCount
            let newView = makeView(map: map, version: version)
            publishLocked(newView)
            return (.applied(newView), newView, old, oldCount)
        }
        if let newView = result.1 {
            let old = result.2
            logChanges(from: old, to: newView)
            onIndexMap?(newView)
            if let me = newView.me, old != me { onSelfChange?(old, me, newView) }
            if result.3 > 0 && newView.layout.activeCount > result.3 { onPartitionsGrew?(newView) }
        }
        return result.0
    }

    /// Call with `lock` held.
    private func makeView(map: NodeMap, version: UInt64) -> ClusterView {
        let layout: PartitionLayout
        do {
            layout = try map.partitionLayout()
        } catch {
            logger.error("node map version \(version) has inconsistent partitions (\(error)); keeping the previous partition tables")
            layout = view.layout
        }
        return ClusterView(selfKey: "\(settings.serverName):\(settings.serverPort)", standalone: false,
                           map: map, version: version, layout: layout, resolver: resolver)
    }

    private func logChanges(from old: NodeEntry?, to newView: ClusterView) {
        guard let me = newView.me else { return }
        if old?.role != me.role || old?.state != me.state || old?.partition != me.partition {
            logger.notice("this node is now \(me.role.name)/\(me.state.name) of partition \(me.partition) (node map version \(newView.version))")
        }
    }
}
