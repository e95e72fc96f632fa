#if canImport(Glibc)
import Glibc
#endif
import Atomics
import Dispatch
import FlareCluster
import FlareNet
import Logging
import Synchronization

/// The index server's authority over the node map: every change runs as one "coordinator
/// operation" inside `guarded` (apply to a copy, persist with a new version, then publish), followed
/// by the pushes to the nodes. It also owns the node monitors.
///
/// Any thread may call in: request workers (admin commands), monitor threads (down/up events, which
/// run on `events`, a serial queue, so a monitor never waits for `guarded` while holding its own),
/// and, with `index-db = zookeeper://`, the ZooKeeper shell (`ZooKeeperIndex`), which makes this
/// index the leader or a follower (docs/index-redundancy.md). Only the sole index (`file://`) or the
/// leader decides: it monitors, changes, saves and pushes the map and grants leases; a follower
/// takes the map it is given and refuses every change. `@unchecked Sendable` only for
/// `monitorSourceAddress` and `allocateID`, set once by the daemon before monitoring starts.
final class Coordinator: @unchecked Sendable {
    enum Role: Equatable, Sendable {
        /// `index-db = file://`: the only index server.
        case sole
        /// Holds the ZooKeeper lock: decides for the cluster.
        case leader
        /// Follows the map in ZooKeeper; `leader` is the deciding index (`index/primary`), when known.
        case follower(leader: String?)
    }

    struct MonitorSettings {
        var threshold: Int
        var interval: Int
        var readTimeoutMilliseconds: Int
    }

    /// The map, its store, this index's role and its monitors: changed together, in one critical
    /// section per operation.
    private struct Guarded {
        var state: IndexState
        var store: any NodeMapStore
        var role: Role
        /// A leader decides only until then (monotonic ms): each answered ZooKeeper round trip
        /// extends it (`confirmLeadership`). A leader suspended or cut off stops deciding before
        /// the ensemble can end its session and let another index take the lock.
        var confirmedUntil: Int64 = 0
        var monitors: [String: NodeMonitor] = [:]
        var settings: MonitorSettings

        func decides(now: Int64) -> Bool {
            role == .sole || (role == .leader && now < confirmedUntil)
        }
    }

    private let guarded: Mutex<Guarded>
    private let logger: Logger
    private let events = DispatchQueue(label: "flarei.node-events")
    /// Delivers `node sync` pushes, one map version after the other (priority nodes waited for).
    private let pushes = DispatchQueue(label: "flarei.pushes")
    /// The address monitors connect from (flarei's `server-address` unless it is the wildcard), so
    /// that nodes, which obey `node sync` only from their index servers' addresses, recognise the
    /// pushes whatever source address the kernel would pick. Set before monitoring starts.
    var monitorSourceAddress: String?
    /// Ids for monitors, from the server's id space (`kill` takes either kind).
    var allocateID: () -> Int = { 0 }
    /// The master leases granted, and the take-overs waiting for one to expire (by token, so a
    /// cancelled wait that fires anyway does nothing). Apart from `guarded`: a renewal, answered on
    /// an event loop, must not wait for a map save.
    private let leases = Mutex(Leases())

    private struct Leases {
        var grants = LeaseGrants()
        var waiting: [String: UInt64] = [:]
        var nextToken: UInt64 = 0
        /// The lease length each node last asked for, also while following: a new leader assumes
        /// the previous one granted that much just before it lost the lock.
        var lengths: [String: Int64] = [:]
    }

    init(file: MapFile, settings: MonitorSettings, logger: Logger) throws(MapFile.Failure) {
        self.logger = logger
        let state = try file.load()
        guarded = Mutex(Guarded(state: state, store: file, role: .sole, settings: settings))
        if let problem = state.layoutProblem() {
            logger.warning("node map loaded from \(file.path) is inconsistent: \(problem)")
        }
    }

    /// An index that starts as a follower of the map in `store` (ZooKeeper).
    init(following state: IndexState, store: any NodeMapStore, settings: MonitorSettings, logger: Logger) {
        self.logger = logger
        guarded = Mutex(Guarded(state: state, store: store, role: .follower(leader: nil), settings: settings))
    }

    var currentRole: Role { guarded.withLock { $0.role } }

    /// Whether this index decides (sole or leader); otherwise changes go to the leader.
    var decides: Bool {
        let now = ServerClock.monotonicMilliseconds()
        return guarded.withLock { $0.decides(now: now) }
    }

    /// The ZooKeeper session was alive (and the lock still ours) at a time no earlier than the
    /// leader's send time of a round trip: it may decide until `until`.
    func confirmLeadership(until: Int64) {
        guarded.withLock { if $0.role == .leader { $0.confirmedUntil = max($0.confirmedUntil, until) } }
    }

    // MARK: Leadership (ZooKeeper)

    /// This index now holds the lock, with `state` read afresh from the tree: it starts monitoring,
    /// honours the grants the previous leader may have made (each active master as if granted its
    /// usual length just now), and pushes the map, which a previous leader may have saved and died
    /// before pushing (a node takes a map of the version it holds again without harm).
    func lead(_ fresh: IndexState, confirmedUntil until: Int64) {
        let now = ServerClock.monotonicMilliseconds()
        let (current, masters) = guarded.withLock { g -> (IndexState, [String]) in
            if fresh.version >= g.state.version { g.state = fresh }
            g.role = .leader
            g.confirmedUntil = until
            let masters = g.state.map.entries.filter { $0.role == .master && $0.state == .active }.map(\.nodeKey)
            return (g.state, masters)
        }
        leases.withLock { leases in
            leases.grants = LeaseGrants()
            leases.waiting = [:]
            for key in masters {
                _ = leases.grants.grant(key, milliseconds: leases.lengths[key] ?? Self.assumedLeaseMilliseconds, now: now)
            }
        }
        logger.notice("leading the index servers: node map version \(current.version) with \(current.map.count) node(s)")
        startMonitoring()
        push(current, IndexChange.saveAndPush)
    }

    /// A lease length to assume for a master that never renewed with this index: longer than
    /// flared's default `master-lease`.
    static let assumedLeaseMilliseconds: Int64 = 3000

    /// This index no longer holds the lock (or cannot tell: no ZooKeeper connection): it stops
    /// deciding at once. Monitors stop, pending fail-overs are called off (their `perform` would
    /// refuse anyway), grants are forgotten: the next leader honours them.
    func follow(leader: String?, reason: String) {
        let wasDeciding = guarded.withLock { g -> Bool in
            defer { g.role = .follower(leader: leader) }
            return g.role == .leader
        }
        guard wasDeciding else { return }
        logger.warning("no longer deciding for the cluster: \(reason)")
        stopMonitoring()
        leases.withLock { leases in
            leases.grants = LeaseGrants()
            leases.waiting = [:]
        }
    }

    /// A follower learns the leader's address (`index/primary`).
    func setLeader(_ leader: String?) {
        guarded.withLock { if case .follower = $0.role { $0.role = .follower(leader: leader) } }
    }

    /// A follower takes the map the leader saved. Never an older one: a watch may report changes
    /// out of order with a read already made.
    func adopt(_ fresh: IndexState) {
        let adopted = guarded.withLock { g -> Bool in
            guard g.role != .leader, g.role != .sole, fresh.version > g.state.version else { return false }
            g.state = fresh
            return true
        }
        if adopted { logger.info("following node map version \(fresh.version) with \(fresh.map.count) node(s)") }
    }

    var monitorSettings: MonitorSettings {
        get { guarded.withLock { $0.settings } }
        set { guarded.withLock { $0.settings = newValue } }
    }

    var snapshot: IndexState { guarded.withLock { $0.state } }

    /// Starts watching every node of the loaded map.
    func startMonitoring() {
        let nodes = guarded.withLock { $0.state.map.entries }
        for node in nodes { startMonitor(for: node) }
    }

    func stopMonitoring() {
        let all = guarded.withLock { g -> [NodeMonitor] in
            defer { g.monitors.removeAll() }
            return Array(g.monitors.values)
        }
        for monitor in all { monitor.stop() }
    }

    private func makeMonitor(for node: NodeEntry) -> NodeMonitor {
        NodeMonitor(id: allocateID(), name: node.name, port: node.port, threadType: node.threadType, coordinator: self)
    }

    private func startMonitor(for node: NodeEntry) {
        let monitor = makeMonitor(for: node)
        let previous = guarded.withLock { g -> NodeMonitor? in
            defer { g.monitors[node.nodeKey] = monitor }
            return g.monitors[node.nodeKey]
        }
        previous?.stop()
        monitor.start()
    }

    /// Monitors in thread-type order, for `stats threads`.
    var monitorList: [NodeMonitor] {
        guarded.withLock { $0.monitors.values.sorted { ($0.threadType, $0.id) < ($1.threadType, $1.id) } }
    }

    /// `kill <id>` of a monitor thread: it stops watching its node until the index restarts.
    func killMonitor(id: Int) -> Bool {
        let found = guarded.withLock { g -> NodeMonitor? in
            guard let entry = g.monitors.first(where: { $0.value.id == id }) else { return nil }
            g.monitors[entry.key] = nil
            return entry.value
        }
        found?.stop()
        return found != nil
    }

    func isDown(_ nodeKey: String) -> Bool {
        guarded.withLock { $0.state.map[nodeKey: nodeKey]?.state == .down }
    }

    // MARK: Operations

    /// Runs one node-map operation: on success the new map is saved (version + 1) and pushed.
    /// Returns the state after the operation, or the reason it failed.
    @discardableResult
    func perform(_ name: String, _ operation: (inout IndexState) throws(IndexCommandError) -> IndexChange) -> Result<IndexState, IndexCommandError> {
        // Monitors added or removed by the change are swapped in the same critical section as the
        // state: an operation that runs right after this one must find the new node's monitor,
        // or its push would silently skip that node (which would then keep an old map).
        var retired: [NodeMonitor] = []
        var added: NodeMonitor?
        let outcome = guarded.withLock { g -> Result<(IndexState, IndexChange), IndexCommandError> in
            guard g.decides(now: ServerClock.monotonicMilliseconds()) else { return .failure(Self.notDeciding(g.role)) }
            var next = g.state
            let change: IndexChange
            do throws(IndexCommandError) {
                change = try operation(&next)
            } catch {
                return .failure(error)
            }
            if change.save {
                next.version += 1
                do throws(IndexCommandError) {
                    try g.store.save(next)
                } catch {
                    logger.error("\(name): \(error); the change is not applied")
                    return .failure(error)
                }
                if let problem = next.layoutProblem() { logger.warning("after \(name): \(problem)") }
            }
            g.state = next
            // Queued inside the critical section, so pushes leave in version order; run on
            // `pushes`, so no request thread waits for a node.
            if change.save { pushes.async { [self, next] in push(next, change) } }
            if let key = change.stopMonitor, let monitor = g.monitors.removeValue(forKey: key) {
                retired.append(monitor)
            }
            if let key = change.startMonitor, let node = next.map[nodeKey: key] {
                let monitor = makeMonitor(for: node)
                if let previous = g.monitors[key] { retired.append(previous) }
                g.monitors[key] = monitor
                added = monitor
            }
            return .success((next, change))
        }
        for monitor in retired { monitor.stop() }
        added?.start()
        switch outcome {
        case .failure(let error):
            logger.info("\(name) refused: \(error)")
            return .failure(error)
        case .success(let (newState, change)):
            if change.save { logger.notice("\(name): node map version \(newState.version)") }
            return .success(newState)
        }
    }

    static func notDeciding(_ role: Role) -> IndexCommandError {
        if role == .leader { return IndexCommandError("not the leading index server: its ZooKeeper session is not confirmed") }
        if case .follower(let leader?) = role { return IndexCommandError("not the leading index server; the leader is \(leader)") }
        return IndexCommandError("not the leading index server, and no index server leads at the moment")
    }

    /// `node add`. A node listed as live that registers again restarted before its monitor noticed
    /// (`IndexState.addNode` fails it over and readmits it); logged, as no monitor event explains
    /// the change. That fail-over does not wait for the node's lease: the process that held it is
    /// gone (a new one starts without a lease), so a pending wait for it is called off too. Its
    /// grants are kept: the new process may have renewed before it registered.
    func addNode(name: String, port: Int) -> Result<IndexState, IndexCommandError> {
        let nodeKey = NodeEntry.nodeKey(name: name, port: port)
        leases.withLock {
            if $0.waiting.removeValue(forKey: nodeKey) != nil { $0.grants.restore(nodeKey) }
        }
        var before: NodeEntry?
        let outcome = perform("node add \(name) \(port)") { (state: inout IndexState) throws(IndexCommandError) in
            before = state.map[name: name, port: port]
            return try state.addNode(name: name, port: port)
        }
        if let before, before.state != .down, case .success(let after) = outcome, let now = after.map[name: name, port: port] {
            logger.warning("\(before.nodeKey) registered again while listed as \(before.role.name)/\(before.state.name): its process restarted, so it was taken down and readmitted as \(now.role.name)/\(now.state.name)")
        }
        return outcome
    }

    /// `node sync` to every node (docs/original-behaviour.md, "Partition tables and node sync"): priority nodes first,
    /// each waited for, then all. Runs on `pushes` only.
    private func push(_ state: IndexState, _ change: IndexChange) {
        let text = "node sync \(state.version)\r\n" + state.map.nodeLines + "END\r\n"
        let targets = guarded.withLock { $0.monitors }
        let wait = monitorSettings.readTimeoutMilliseconds + 1000
        for key in change.priority {
            guard let monitor = targets[key] else { continue }
            let waiter = PushWaiter()
            monitor.enqueue(text, waiter: waiter)
            if !waiter.wait(milliseconds: wait) { logger.warning("priority push of version \(state.version) to \(key) failed") }
        }
        for node in state.map.entries where node.nodeKey != change.skipPush {
            targets[node.nodeKey]?.enqueue(text)
        }
    }

    // MARK: Monitor events

    /// A node missed `monitor-threshold` probes: run the node-down procedure (fail-over). For an
    /// active master the index first revokes its lease (no more grants) and runs it only once the
    /// last grant has expired: the node's own lease ends before that, so the master it is replaced
    /// by never acts alongside it. Operator commands (`node state … down`, `node role …`) do not
    /// wait: they are the operator's call, and the node learns of them from the next push or renewal.
    func nodeFailed(_ nodeKey: String) {
        let isActiveMaster = guarded.withLock { $0.state.map[nodeKey: nodeKey].map { $0.role == .master && $0.state == .active } ?? false }
        guard isActiveMaster else {
            events.async { [self] in takeDown(nodeKey) }
            return
        }
        let now = ServerClock.monotonicMilliseconds()
        let plan = leases.withLock { leases -> (token: UInt64, at: Int64)? in
            guard leases.waiting[nodeKey] == nil else { return nil }  // already waiting for this lease
            leases.nextToken += 1
            leases.waiting[nodeKey] = leases.nextToken
            return (leases.nextToken, leases.grants.revoke(nodeKey, now: now))
        }
        guard let plan else { return }
        let wait = max(0, plan.at - now)
        logger.warning("\(nodeKey) does not answer: lease revoked; failing it over when its last grant expires in \(wait) ms")
        // Scheduled on the event queue, not slept on: monitors and request threads go on meanwhile.
        events.asyncAfter(deadline: .now() + .milliseconds(Int(wait))) { [self] in
            let due = leases.withLock { leases -> Bool in
                guard leases.waiting[nodeKey] == plan.token else { return false }
                leases.waiting[nodeKey] = nil
                return true
            }
            guard due else { return }
            takeDown(nodeKey)
            // Every grant has expired and none was made since the revocation; a renewal from now on
            // answers with the map that took the node down, which it installs before acting again.
            leases.withLock { $0.grants.forget(nodeKey) }
        }
    }

    private func takeDown(_ nodeKey: String) {
        logger.warning("\(nodeKey) does not answer: marking it down")
        perform("node down \(nodeKey)") { (state: inout IndexState) throws(IndexCommandError) in
            try state.nodeDown(nodeKey: nodeKey, shutdown: false)
        }
    }

    /// The monitor heard from a node it reported as failed, before the node was taken down: the
    /// take-over waiting for its lease is called off, the node keeps its role and grants resume.
    func nodeAnswered(_ nodeKey: String) {
        let cancelled = leases.withLock { leases -> Bool in
            guard leases.waiting.removeValue(forKey: nodeKey) != nil else { return false }
            leases.grants.restore(nodeKey)
            return true
        }
        if cancelled { logger.notice("\(nodeKey) answers again before its lease expired: it keeps its role") }
    }

    /// `lease <name> <port> <milliseconds>`: the map version to answer with, or nil when the
    /// node's lease is revoked. The time is taken at receipt, after the node's send time.
    func renewLease(nodeKey: String, milliseconds: Int64) -> LeaseAnswer {
        let now = ServerClock.monotonicMilliseconds()
        let (deciding, currentRole, listed) = guarded.withLock { ($0.decides(now: now), $0.role, $0.state.map[nodeKey: nodeKey] != nil) }
        let granted = leases.withLock { leases -> Bool in
            // Only for nodes of the map: anyone may send `lease`, the record must stay bounded.
            if listed { leases.lengths[nodeKey] = milliseconds }
            return deciding && leases.grants.grant(nodeKey, milliseconds: milliseconds, now: now)
        }
        guard deciding else { return .notDeciding(Self.notDeciding(currentRole)) }
        guard granted else { return .revoked }
        return .granted(version: guarded.withLock { $0.state.version })
    }

    enum LeaseAnswer: Equatable {
        case granted(version: UInt64)
        case revoked
        /// Only the deciding index grants leases: it alone knows when it may fail a master over.
        case notDeciding(IndexCommandError)
    }

    /// A down node answers again: run the node-up procedure.
    func nodeRecovered(_ nodeKey: String) {
        events.async { [self] in
            logger.notice("\(nodeKey) answers again")
            perform("node up \(nodeKey)") { (state: inout IndexState) throws(IndexCommandError) in
                try state.nodeUp(nodeKey: nodeKey)
            }
        }
    }
}
