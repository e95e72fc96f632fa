import Atomics
import Dispatch
import FlareNet
import FlareProtocol
import FlareStorage
import Logging

/// What every worker of a node shares: the store, the limits, health and the hooks into the daemon.
///
/// Immutable after start-up except for the atomics, which any thread may read and update.
public final class NodeContext: @unchecked Sendable {
    public let store: ItemStore
    public let limits: ParserLimits
    /// Connections per destination node for forwarding (`proxy-concurrency`).
    let proxyConcurrency: Int
    public let logger: Logger
    /// Set once a storage write fails: `ping` then reports the node unhealthy so the index marks it down.
    let storageFailed = ManagedAtomic<Bool>(false)
    /// `replication-type = sync` (reloadable): writes wait for the active slaves.
    let synchronousReplication = ManagedAtomic<Bool>(false)
    /// The control plane's serving decision as workers read it: whether data requests are served
    /// and whether this node may act as master.
    let stallGuard: StallGuard
    /// The node's links to other nodes, for `stats threads`.
    let peerLinks = PeerLinkRegistry()
    /// One replication stream per destination, shared by every worker.
    let replication: ReplicationStreams
    /// The copies this node recently sent as master, for slaves catching up (`backlog`).
    let backlog: ReplicationBacklog
    /// The highest copy versions applied from a master, per worker (recorded in `flared.applied`).
    let applied: AppliedVersions
    /// Rejoins that caught up from the master's backlog, and those that needed a full copy.
    let catchUpsFromBacklog = ManagedAtomic<UInt64>(0)
    let catchUpsFull = ManagedAtomic<UInt64>(0)
    /// Only one `dump`/`dump_key` iterates the store at a time, as in flare.
    let iterationBusy = ManagedAtomic<Bool>(false)
    /// Stale and recache-token marks of the meta commands.
    let itemMarks = ItemMarks()
    /// Each worker's recent item reads, for `mg`'s `h` and `l`.
    let accesses: ItemAccesses
    /// The cluster this node belongs to (or its standalone stand-in).
    let membership: NodeMembership

    /// For the in-process handler fuzzers (Tests/HandlerFuzzing): whether a dump holds the store's
    /// iteration, and which addresses may push maps without configured index servers.
    package var iterationInProgress: Bool { iterationBusy.load(ordering: .acquiring) }
    package func trustIndexServers(_ hosts: Set<String>) { membership.indexPeers.set(hosts) }
    /// `show variables` lines of the effective settings.
    public let showVariables: @Sendable () -> [String]
    /// Set when the server is running (the server needs the handlers, the handlers need the server).
    public internal(set) var server: Server!
    let counters: [ThreadCounters]
    /// The node map version each worker routes by; `stats` reports the lowest, so a node that is
    /// about to copy from this one knows when every worker here copies new writes to it.
    let installedVersions: [ManagedAtomic<UInt64>]
    /// The most one multi-get may answer before it is refused (twice the largest value, at least 64 MiB).
    let maxReplyBytes: Int
    /// Background jobs that use the store; stopped and waited for before it closes.
    let background = BackgroundWork()
    /// The one pending `flush_all <delay>`, if any.
    let delayedFlush: DelayedFlush

    init(store: ItemStore, limits: ParserLimits, logger: Logger, workers: Int, proxyConcurrency: Int, backlogBytes: Int,
         membership: NodeMembership, showVariables: @escaping @Sendable () -> [String]) {
        backlog = ReplicationBacklog(limit: backlogBytes, workers: workers)
        applied = AppliedVersions(workers: workers)
        accesses = ItemAccesses(workers: workers)
        self.store = store
        delayedFlush = DelayedFlush(store: store, logger: logger)
        maxReplyBytes = max(64 << 20, 2 * limits.maxValueSize)
        self.proxyConcurrency = proxyConcurrency
        self.limits = limits
        self.logger = logger
        self.membership = membership
        self.stallGuard = membership.gate
        self.showVariables = showVariables
        replication = ReplicationStreams(settings: ReplicationSettings(), logger: logger) { [membership, logger] destination in
            // Off the event loop: a round trip to the index.
            DispatchQueue.global().async {
                let line = "node state \(destination.name) \(destination.port) down"
                if !IndexClient.command(line, servers: membership.currentSettings.indexServers) {
                    logger.error("the index did not accept marking \(destination.nodeKey) down; its copy of the partition is incomplete")
                }
            }
        }
        counters = (0..<max(1, workers)).map { _ in ThreadCounters(count: NodeCounter.count) }
        installedVersions = (0..<max(1, workers)).map { _ in ManagedAtomic<UInt64>(0) }
    }

    func total(_ counter: Int) -> UInt64 {
        counters.reduce(0) { $0 &+ $1.value(counter) }
    }

    func markStorageFailure(_ error: StorageError) {
        if !storageFailed.exchange(true, ordering: .relaxed) {
            logger.critical("storage failure, node reports itself unhealthy until restarted: \(error)")
        }
    }
}

import Dispatch

extension NodeContext {
    /// memcached's delayed `flush_all`: the delay follows exptime rules (relative or absolute time).
    /// Replaces a flush still pending; false when the node is shutting down.
    func scheduleFlush(afterSeconds delay: Int64) -> Bool {
        let now = server.clock.now
        return delayedFlush.schedule(afterSeconds: max(0, Expiry.absolute(delay, now: now) - now))
    }
}
