#if canImport(Glibc)
import Glibc
#endif
import Atomics
import Dispatch
import FlareCluster
import FlareConfig
import FlareNet
import Logging

/// The shell around this node's control plane (`NodeCore`): it delivers events to the core under
/// one lock and executes the effects the core returns. It also runs the registration loop.
///
/// With no index server configured the node is a single-node cluster (master of partition 0).
/// With index servers configured it serves standalone too until one answers `node add`, retrying
/// in the background, so clients are never refused because the index is away. Once registered it
/// follows the index's `node sync` pushes.
///
/// Events come from background threads (registration, lease, ticker, reconstructions) and from
/// workers (`node sync`). The step and the installation of a new view happen under `lock`; every
/// other effect runs afterwards, in order, on `effectQueue` — never on a worker's event loop.
final class NodeMembership: @unchecked Sendable {
    /// What executing effects needs from the daemon; set before `start`.
    struct Actions {
        var construct: (NodeConstruction, _ finished: @escaping @Sendable (Bool) -> Void) -> Void = { _, _ in }
        var catchUp: (NodeConstruction.Source, _ finished: @escaping @Sendable (CatchUpOutcome) -> Void) -> Void = { _, _ in }
        var clearData: () -> Void = {}
        var rememberRole: (NodeEntry) -> Void = { _ in }
        var recordMembership: () -> Void = {}
    }

    private let lock = Lock()
    private var settings: NodeSettings
    private let logger: Logger
    private var core: NodeCore
    private var view: ClusterView
    private var resolver: KeyResolver
    private var subscribers: [(Worker, NodeHandler)] = []
    private let running = ManagedAtomic<Bool>(false)
    private var warnedUnreachable = false
    /// Where workers read the serving decision.
    let gate: StallGuard
    var actions = Actions()
    private let effectQueue = DispatchQueue(label: "flared.control")
    private var lease: IndexLease?
    /// Who may push maps (`node sync`): the configured index servers, resolved by the registration loop.
    let indexPeers = IndexPeers()
    static let retryInterval: Double = 2
    static let checkInterval: Double = 5

    init(settings: NodeSettings, gate: StallGuard, logger: Logger) {
        self.settings = settings
        self.gate = gate
        self.logger = logger
        core = NodeCore(configuration: .init(name: settings.serverName, port: settings.serverPort,
                                             hasIndex: !settings.indexServers.isEmpty,
                                             leaseMilliseconds: Int64(settings.masterLease),
                                             reconstructionInterval: settings.reconstructionInterval,
                                             reconstructionBwlimit: settings.reconstructionBwlimit))
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

    /// Steps the core with `event`; returns the view it installed, if any. `resolver` (from a
    /// registration) applies to that view and the ones after.
    @discardableResult
    func deliver(_ event: NodeEvent, resolver newResolver: KeyResolver? = nil) -> ClusterView? {
        let (effects, installed) = lock.withLock { () -> ([NodeEffect], ClusterView?) in
            if let newResolver { resolver = newResolver }
            let effects = core.step(event)
            var installed: ClusterView?
            for case .install(let map, let version, let layout) in effects {
                let newView = ClusterView(selfKey: view.selfKey, standalone: false, map: map, version: version,
                                          layout: layout, resolver: resolver, previous: view)
                publishLocked(newView)
                installed = newView
            }
            gate.publish(core.serving)
            return (effects, installed)
        }
        var rest: [NodeEffect] = []
        for effect in effects {
            switch effect {
            case .install: break
            // Only wakes the lease thread; not queued behind index round trips that may take seconds.
            case .fetchMap: lock.withLock { lease }?.requestFetch()
            default: rest.append(effect)
            }
        }
        if !rest.isEmpty { effectQueue.async { [self, rest] in execute(rest) } }
        return installed
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

    /// Runs on `effectQueue`: may block (index round trips, fsync).
    private func execute(_ effects: [NodeEffect]) {
        for effect in effects {
            switch effect {
            case .install, .fetchMap: break
            case .log(let level, let message):
                switch level {
                case .debug: logger.debug("\(message)")
                case .info: logger.info("\(message)")
                case .notice: logger.notice("\(message)")
                case .warning: logger.warning("\(message)")
                case .error: logger.error("\(message)")
                }
            case .tellIndex(let line):
                let accepted = IndexClient.command(line, servers: currentSettings.indexServers)
                deliver(.toldIndex(line: line, accepted: accepted))
            case .construct(let construction):
                actions.construct(construction) { [self] ok in deliver(.constructionFinished(ok: ok)) }
            case .catchUp(let source):
                actions.catchUp(source) { [self] outcome in deliver(.catchUpFinished(outcome)) }
            case .clearData: actions.clearData()
            case .rememberRole(let entry): actions.rememberRole(entry)
            case .recordMembership: actions.recordMembership()
            }
        }
    }

    /// Waits for the effects queued so far (shutdown: they may clear the store or start jobs,
    /// which `BackgroundWork` then refuses).
    func drainEffects() {
        effectQueue.sync {}
    }

    func update(settings: NodeSettings) {
        lock.withLock { self.settings = settings }
        deliver(.settingsChanged(reconstructionInterval: settings.reconstructionInterval,
                                 reconstructionBwlimit: settings.reconstructionBwlimit))
    }

    var currentSettings: NodeSettings { lock.withLock { settings } }

    // MARK: Index server

    /// Starts the control plane: the start-up event, then registration and the lease thread.
    func start(formerMember: Bool, formerPartition: Int?, formerRole: NodeRole? = nil, progress: SlaveProgress? = nil) {
        let servers = currentSettings.indexServers
        deliver(.started(formerMember: formerMember, formerPartition: formerPartition,
                         rejoinAsSlave: currentSettings.rejoinAsSlave, formerRole: formerRole, progress: progress,
                         now: ServerClock.monotonicMilliseconds()))
        guard !servers.isEmpty else { return }
        logger.notice("registering with index server(s) \(servers.map(\.description).joined(separator: ",")); serving standalone until one answers")
        running.store(true, ordering: .relaxed)
        let current = currentSettings
        let lease = IndexLease(membership: self, name: current.serverName, port: current.serverPort,
                               leaseMilliseconds: Int64(current.masterLease))
        lock.withLock { self.lease = lease }
        lease.start()
        schedule(after: 0)
    }

    /// Leaves the cluster politely (SIGTERM): the index marks us down at once instead of waiting.
    func stop() {
        guard running.exchange(false, ordering: .relaxed) else { return }
        let (servers, name, port, wasRegistered) = lock.withLock { (settings.indexServers, settings.serverName, settings.serverPort, core.registered) }
        lock.withLock { lease }?.stop()
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
            // Before `node add`: the index pushes as soon as it has answered.
            indexPeers.refresh(currentSettings.indexServers)
            let next = lock.withLock { core.registered } ? checkRegistration() : register()
            if let next { schedule(after: next) }
        }
    }

    /// One registration attempt over the configured servers; returns when to run again.
    private func register() -> Double {
        let (servers, name, port) = lock.withLock { (settings.indexServers, settings.serverName, settings.serverPort) }
        var failures: [String] = []
        for server in servers.shuffled() {
            do {
                let registration = try IndexClient.register(at: server, name: name, port: port)
                lock.withLock { warnedUnreachable = false }
                deliver(.registered(map: registration.map), resolver: registration.resolver)
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

    /// Re-registers if the index forgot us (restarted without its data); returns when to check
    /// again, nil once the operator removed this node (it stays out until restarted). With several
    /// index servers one that lists us is enough: a follower cut off from ZooKeeper may hold an old
    /// map, and a needless `node add` would be taken for a restart of this node.
    private func checkRegistration() -> Double? {
        let (servers, key) = lock.withLock { (settings.indexServers, view.selfKey) }
        var newestUnlisting: UInt64?
        for server in servers {
            switch IndexClient.listing(of: key, at: server) {
            case .some(let listing) where listing.listed: return Self.checkInterval
            case .some(let listing): newestUnlisting = max(newestUnlisting ?? 0, listing.indexVersion)
            case .none: continue
            }
        }
        guard let newestUnlisting else { return Self.checkInterval }
        deliver(.unlisted(indexVersion: newestUnlisting))
        return lock.withLock { core.removed } ? nil : 0
    }

    // MARK: node sync

    enum SyncOutcome { case applied(ClusterView), stale }

    /// Applies a pushed map unless it is older than the one we have (equal versions are accepted).
    /// Runs on the worker that read the push: the step only computes and queues.
    func applySync(version: UInt64, map: NodeMap) -> SyncOutcome {
        deliver(.mapPushed(version: version, map: map)).map { .applied($0) } ?? .stale
    }
}
