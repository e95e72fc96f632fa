#if canImport(Glibc)
import Glibc
#endif
import Atomics
import Dispatch
import FlareCluster
import FlareConfig
import FlareNet
import Logging
import Synchronization

/// The shell around this node's control plane (`NodeCore`): it delivers events to the core under
/// one lock and executes the effects the core returns. It also runs the registration loop.
///
/// With no index server configured the node is a single-node cluster (master of partition 0).
/// With index servers configured it serves standalone too until one answers `node add`, retrying
/// in the background, so clients are never refused because the index is away. Once registered it
/// follows the index's `node sync` pushes.
///
/// Events come from background threads (registration, lease, ticker, reconstructions) and from
/// workers (`node sync`). The step and the installation of a new view happen inside `guarded` (a
/// `Mutex`); every other effect runs afterwards, in order, on `effectQueue` — never on a worker's
/// event loop. `@unchecked Sendable` only for `actions`, closures set once before `start` and read on
/// `effectQueue` afterwards.
final class NodeMembership: @unchecked Sendable {
    /// What executing effects needs from the daemon; set before `start`.
    struct Actions {
        var construct: (NodeConstruction, _ finished: @escaping @Sendable (Bool) -> Void) -> Void = { _, _ in }
        var catchUp: (NodeConstruction.Source, _ finished: @escaping @Sendable (CatchUpOutcome) -> Void) -> Void = { _, _ in }
        var clearData: () -> Void = {}
        var rememberRole: (NodeEntry) -> Void = { _ in }
        var recordMembership: () -> Void = {}
    }

    /// What the step, the installation of a view and the registration loop share.
    private struct Guarded {
        var settings: NodeSettings
        var core: NodeCore
        var view: ClusterView
        var resolver: KeyResolver
        /// The workers whose handlers route by the view (each handler is reached on its own worker).
        var subscribers: [Worker] = []
        var warnedUnreachable = false
        var lease: IndexLease?
    }

    private let guarded: Mutex<Guarded>
    private let logger: Logger
    private let running = ManagedAtomic<Bool>(false)
    /// Where workers read the serving decision.
    let gate: StallGuard
    var actions = Actions()
    private let effectQueue = DispatchQueue(label: "flared.control")
    /// Who may push maps (`node sync`): the configured index servers, resolved by the registration loop.
    let indexPeers = IndexPeers()
    static let retryInterval: Double = 2
    static let checkInterval: Double = 5

    init(settings: NodeSettings, gate: StallGuard, logger: Logger) {
        self.gate = gate
        self.logger = logger
        let core = NodeCore(configuration: .init(name: settings.serverName, port: settings.serverPort,
                                             hasIndex: !settings.indexServers.isEmpty,
                                             leaseMilliseconds: Int64(settings.masterLease),
                                             reconstructionInterval: settings.reconstructionInterval,
                                             reconstructionBwlimit: settings.reconstructionBwlimit))
        // Until the index tells us otherwise, use the index's default partitioning.
        let resolver = (try? KeyResolver()) ?? KeyResolver(algorithm: .simple, modular: try! ModularResolver())
        let view = ClusterView.standalone(name: settings.serverName, port: settings.serverPort, resolver: resolver)
        guarded = Mutex(Guarded(settings: settings, core: core, view: view, resolver: resolver))
    }

    var current: ClusterView { guarded.withLock { $0.view } }
    var selfKey: String { current.selfKey }

    /// Registers a worker's handler to receive every new view. Called while the server is built,
    /// before the worker's thread runs.
    func subscribe(worker: Worker, handler: NodeHandler) {
        guarded.withLock { $0.subscribers.append(worker) }
        handler.view = current
    }

    /// Steps the core with `event`; returns the view it installed, if any. `resolver` (from a
    /// registration) applies to that view and the ones after.
    @discardableResult
    func deliver(_ event: NodeEvent, resolver newResolver: KeyResolver? = nil) -> ClusterView? {
        let (effects, installed) = guarded.withLock { g -> ([NodeEffect], ClusterView?) in
            if let newResolver { g.resolver = newResolver }
            let effects = g.core.step(event)
            var installed: ClusterView?
            for case .install(let map, let version, let layout) in effects {
                let newView = ClusterView(selfKey: g.view.selfKey, standalone: false, map: map, version: version,
                                          layout: layout, resolver: g.resolver, previous: g.view)
                Self.publish(newView, in: &g)
                installed = newView
            }
            gate.publish(g.core.serving)
            return (effects, installed)
        }
        var rest: [NodeEffect] = []
        for effect in effects {
            switch effect {
            case .install: break
            // Only wakes the lease thread; not queued behind index round trips that may take seconds.
            case .fetchMap: guarded.withLock { $0.lease }?.requestFetch()
            default: rest.append(effect)
            }
        }
        if !rest.isEmpty { effectQueue.async { [self, rest] in execute(rest) } }
        return installed
    }

    /// Installs `newView` and hands it to every worker. Call inside `guarded`, in the critical
    /// section that chose the view: a push and the registration reply run on different threads,
    /// and publishing outside that section let the older map land last (a restarted node then kept
    /// the `proxy/down` map of its `node add` reply after the push that made it `proxy/active`).
    /// `Worker.post` only queues, so the posts keep the same order.
    private static func publish(_ newView: ClusterView, in g: inout Guarded) {
        g.view = newView
        for worker in g.subscribers {
            worker.post { (worker.handler as? NodeHandler)?.view = newView }
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
        guarded.withLock { $0.settings = settings }
        deliver(.settingsChanged(reconstructionInterval: settings.reconstructionInterval,
                                 reconstructionBwlimit: settings.reconstructionBwlimit))
    }

    var currentSettings: NodeSettings { guarded.withLock { $0.settings } }

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
        guarded.withLock { $0.lease = lease }
        lease.start()
        schedule(after: 0)
    }

    /// Leaves the cluster politely (SIGTERM): the index marks us down at once instead of waiting.
    func stop() {
        guard running.exchange(false, ordering: .relaxed) else { return }
        let (servers, name, port, wasRegistered) = guarded.withLock {
            ($0.settings.indexServers, $0.settings.serverName, $0.settings.serverPort, $0.core.registered)
        }
        guarded.withLock { $0.lease }?.stop()
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
            let next = guarded.withLock { $0.core.registered } ? checkRegistration() : register()
            if let next { schedule(after: next) }
        }
    }

    /// One registration attempt over the configured servers; returns when to run again.
    private func register() -> Double {
        let (servers, name, port) = guarded.withLock { ($0.settings.indexServers, $0.settings.serverName, $0.settings.serverPort) }
        var failures: [String] = []
        for server in servers.shuffled() {
            do {
                let registration = try IndexClient.register(at: server, name: name, port: port)
                guarded.withLock { $0.warnedUnreachable = false }
                deliver(.registered(map: registration.map), resolver: registration.resolver)
                return Self.checkInterval
            } catch {
                failures.append(error.description)
            }
        }
        let first = guarded.withLock { g -> Bool in
            defer { g.warnedUnreachable = true }
            return !g.warnedUnreachable
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
        let (servers, key) = guarded.withLock { ($0.settings.indexServers, $0.view.selfKey) }
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
        return guarded.withLock { $0.core.removed } ? nil : 0
    }

    // MARK: node sync

    enum SyncOutcome { case applied(ClusterView), stale }

    /// Applies a pushed map unless it is older than the one we have (equal versions are accepted).
    /// Runs on the worker that read the push: the step only computes and queues.
    func applySync(version: UInt64, map: NodeMap) -> SyncOutcome {
        deliver(.mapPushed(version: version, map: map)).map { .applied($0) } ?? .stale
    }
}
