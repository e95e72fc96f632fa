#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import FlareCluster
import FlareNet
import FlareZooKeeper
import Logging
import Synchronization

/// flarei's link to ZooKeeper (`index-db = zookeeper://…`): registers this index under
/// `index/servers`, takes part in the election under `index/lock` (lowest sequence number leads),
/// and tells the coordinator when it leads, when it follows (with the map and the leader's address
/// from the watches on `index/nodemap` and `index/primary`), and when it must stop deciding.
///
/// All of it runs on one serial queue (`flarei.zookeeper`): the client library reports events on
/// its own thread, which must not call back into the library, so they are only queued there.
final class ZooKeeperIndex: Sendable {
    private struct State: Sendable {
        var session: ZooKeeperSession?
        var generation = 0
        var coordinator: Coordinator?
        /// Our znode under `index/lock` (name only), once created in this session.
        var lockNode: String?
        var registered = false
        var leading = false
        /// The lock znode we wait to disappear.
        var predecessor: String?
        var stopped = false
        var retryPending = false
    }

    private let servers: String
    private let tree: IndexTree
    /// `<server-name>:<server-port>`: our znode under `index/servers`, and `index/primary`'s data.
    private let me: String
    private let sessionTimeout: Int32
    private let logger: Logger
    let store: ZooKeeperMapStore
    private let queue = DispatchQueue(label: "flarei.zookeeper")
    private let shared = Mutex(State())
    /// A unique prefix for our lock znode, as the original's `<uuid>-lock-`.
    private let lockPrefix: String

    /// How often the leader confirms its session (and lock) with a round trip.
    static let heartbeatMilliseconds = 500

    enum Failure: Error, CustomStringConvertible {
        case unreachable(servers: String, seconds: Int)
        case tree(IndexTree.Failure)
        case zooKeeper(ZooKeeperError)

        var description: String {
            switch self {
            case .unreachable(let servers, let seconds):
                "cannot connect to ZooKeeper at \(servers) within \(seconds) s"
            case .tree(let failure): "\(failure)"
            case .zooKeeper(let error): "\(error)"
            }
        }
    }

    init(servers: String, tree: IndexTree, me: String, sessionTimeoutMilliseconds: Int32, logger: Logger) {
        self.servers = servers
        self.tree = tree
        self.me = me
        self.sessionTimeout = sessionTimeoutMilliseconds
        self.logger = logger
        self.store = ZooKeeperMapStore(tree: tree)
        var generator = SystemRandomNumberGenerator()
        let hex = (0..<16).map { _ in String(UInt8.random(in: 0...255, using: &generator), radix: 16) }
            .map { $0.count == 1 ? "0" + $0 : $0 }.joined()
        let parts = [hex.prefix(8), hex.dropFirst(8).prefix(4), hex.dropFirst(12).prefix(4), hex.dropFirst(16).prefix(4), hex.dropFirst(20)]
        lockPrefix = parts.joined(separator: "-") + "-lock-"
        store.onConflict { [self] in
            queue.async {
                self.logger.warning("\(self.tree.nodemap) was written by someone else: reading it again")
                self.stepDown("the node map in ZooKeeper changed under this leader")
                self.enter()
            }
        }
    }

    // MARK: Start and stop (main thread)

    /// Connects (waiting up to `seconds`), checks the tree and reads the node map and the meta
    /// values: what the index starts with, as a follower.
    func load(waitingUpTo seconds: Int) throws(Failure) -> (IndexState, [String: String]) {
        let session: ZooKeeperSession
        do { session = try openSession() } catch { throw .zooKeeper(error) }
        let deadline = ServerClock.monotonicMilliseconds() + Int64(seconds) * 1000
        while !session.isConnected {
            guard ServerClock.monotonicMilliseconds() < deadline else {
                close()
                throw .unreachable(servers: servers, seconds: seconds)
            }
            usleep(20_000)
        }
        do {
            try tree.check(session)
            let (state, _) = try tree.readNodeMap(session)
            return (state, try tree.readMeta(session))
        } catch {
            close()
            throw .tree(error)
        }
    }

    /// Registers this index and joins the election; from now on events drive the coordinator.
    func join(_ coordinator: Coordinator) {
        shared.withLock { $0.coordinator = coordinator }
        queue.async { self.enter() }
    }

    /// Ends the session: our ephemeral znodes go at once, so another index takes over without
    /// waiting for the session timeout.
    func close() {
        let session = queue.sync { () -> ZooKeeperSession? in
            shared.withLock { state in
                state.stopped = true
                state.leading = false
                defer { state.session = nil }
                return state.session
            }
        }
        store.reset(session: nil, version: -1)
        _ = session  // released here: zookeeper_close runs in its deinit
    }

    private func openSession() throws(ZooKeeperError) -> ZooKeeperSession {
        let generation = shared.withLock { state -> Int in
            state.generation += 1
            return state.generation
        }
        let session = try ZooKeeperSession(connectString: servers, sessionTimeoutMilliseconds: sessionTimeout) { event in
            self.queue.async { self.handle(event, generation: generation) }
        }
        shared.withLock { $0.session = session }
        logger.info("connecting to ZooKeeper at \(servers) (session timeout \(sessionTimeout) ms)")
        return session
    }

    // MARK: Events (on the queue)

    private func handle(_ event: ZooKeeperEvent, generation: Int) {
        let (current, stopped, coordinator) = shared.withLock { ($0.generation == generation, $0.stopped, $0.coordinator) }
        guard current, !stopped else { return }
        switch event {
        case .connected:
            if let session = shared.withLock({ $0.session }) {
                logger.notice("connected to ZooKeeper (session 0x\(String(UInt64(bitPattern: session.sessionID), radix: 16)), timeout \(session.sessionTimeoutMilliseconds) ms)")
            }
            if coordinator != nil { enter() }
        case .connecting:
            logger.warning("lost the connection to ZooKeeper; reconnecting")
            stepDown("lost the connection to ZooKeeper; another index server may take over")
        case .expired:
            logger.warning("the ZooKeeper session expired: joining again with a new one")
            stepDown("the ZooKeeper session expired")
            shared.withLock { state in
                state.session = nil
                state.lockNode = nil
                state.registered = false
                state.predecessor = nil
            }
            reopen()
        case .nodeDeleted(let path):
            let (predecessor, lockNode) = shared.withLock { ($0.predecessor, $0.lockNode) }
            if let lockNode, path == tree.lock + "/" + lockNode {
                stepDown("our lock znode \(path) was deleted")
                shared.withLock { $0.lockNode = nil }
                enter()
            } else if let predecessor, path == tree.lock + "/" + predecessor {
                enter()
            }
        case .nodeChanged(let path), .nodeCreated(let path):
            if path == tree.nodemap { refreshMap() } else if path == tree.primary { refreshPrimary() }
        case .childrenChanged, .other:
            break
        }
    }

    private func reopen() {
        do {
            _ = try openSession()
        } catch {
            logger.error("cannot create a ZooKeeper session: \(error); retrying in 1 s")
            queue.asyncAfter(deadline: .now() + 1) { self.reopen() }
        }
    }

    private func stepDown(_ reason: String) {
        let (coordinator, wasLeading) = shared.withLock { state -> (Coordinator?, Bool) in
            defer { state.leading = false }
            return (state.coordinator, state.leading)
        }
        guard wasLeading else { return }
        store.reset(session: nil, version: -1)
        coordinator?.follow(leader: nil, reason: reason)
    }

    /// Registration, lock znode, watches, election: each step skipped when already done in this
    /// session. Any ZooKeeper failure retries the whole in a second while connected (a lost
    /// connection retries on `.connected`).
    private func enter() {
        guard let (session, coordinator) = shared.withLock({ state -> (ZooKeeperSession, Coordinator)? in
            guard !state.stopped, let session = state.session, let coordinator = state.coordinator else { return nil }
            return (session, coordinator)
        }), session.isConnected else { return }
        do throws(ZooKeeperError) {
            try register(session)
            let lockNode = try ensureLockNode(session)
            refreshPrimary()
            refreshMap()
            try evaluate(session, lockNode: lockNode, coordinator: coordinator)
        } catch {
            logger.warning("ZooKeeper: \(error); trying again in 1 s")
            retryLater()
        }
    }

    private func retryLater() {
        let already = shared.withLock { state -> Bool in
            defer { state.retryPending = true }
            return state.retryPending
        }
        guard !already else { return }
        queue.asyncAfter(deadline: .now() + 1) {
            self.shared.withLock { $0.retryPending = false }
            self.enter()
        }
    }

    /// `index/servers/<name>:<port>`, ephemeral. One left by an earlier process of ours (whose
    /// session has not expired yet) is replaced.
    private func register(_ session: ZooKeeperSession) throws(ZooKeeperError) {
        guard !shared.withLock({ $0.registered }) else { return }
        let path = tree.servers + "/" + me
        do {
            try session.create(path, data: [], mode: .ephemeral)
        } catch {
            guard error.isNodeExists else { throw error }
            try? session.delete(path)
            try session.create(path, data: [], mode: .ephemeral)
        }
        shared.withLock { $0.registered = true }
        logger.info("registered as \(path)")
    }

    private func ensureLockNode(_ session: ZooKeeperSession) throws(ZooKeeperError) -> String {
        if let existing = shared.withLock({ $0.lockNode }) { return existing }
        let created = try session.create(tree.lock + "/" + lockPrefix, data: Array(me.utf8), mode: .ephemeralSequential)
        let name = String(created.split(separator: "/").last ?? "")
        shared.withLock { $0.lockNode = name }
        return name
    }

    /// Lowest sequence number leads; everyone else watches the znode just before its own.
    private func evaluate(_ session: ZooKeeperSession, lockNode: String, coordinator: Coordinator) throws(ZooKeeperError) {
        while true {
            let contenders = IndexTree.leaderFirst(try session.children(tree.lock))
            guard let position = contenders.firstIndex(of: lockNode) else {
                // Our znode is gone (deleted by hand): take a new place in line.
                shared.withLock { $0.lockNode = nil }
                stepDown("our lock znode disappeared")
                let fresh = try ensureLockNode(session)
                return try evaluate(session, lockNode: fresh, coordinator: coordinator)
            }
            if position == 0 {
                try takeLead(session, lockNode: lockNode, coordinator: coordinator)
                return
            }
            let predecessor = contenders[position - 1]
            shared.withLock { $0.predecessor = predecessor }
            if try session.exists(tree.lock + "/" + predecessor, watch: true) {
                logger.info("following: \(predecessor) is ahead of our \(lockNode) in \(tree.lock)")
                return
            }
        }
    }

    private func takeLead(_ session: ZooKeeperSession, lockNode: String, coordinator: Coordinator) throws(ZooKeeperError) {
        guard !shared.withLock({ $0.leading }) else { return }
        let sentAt = ServerClock.monotonicMilliseconds()
        // Whatever a previous leader saved must be what we start from.
        try session.sync(tree.nodemap)
        let data = try session.get(tree.nodemap, watch: true)
        let fresh: IndexState
        do {
            fresh = try FlareXML.decode(data.text)
        } catch {
            logger.error("\(tree.nodemap) does not hold a valid node map (\(error)): not taking the lead")
            return
        }
        _ = try session.exists(tree.lock + "/" + lockNode, watch: true)  // learn if it is deleted
        do {
            try session.set(tree.primary, data: Array(me.utf8))
        } catch {
            guard error.isNoNode else { throw error }
            try session.create(tree.primary, data: Array(me.utf8), mode: .persistent)
        }
        store.reset(session: session, version: data.version)
        shared.withLock { $0.leading = true }
        logger.notice("took the lead with \(tree.lock)/\(lockNode)")
        coordinator.lead(fresh, confirmedUntil: sentAt + confirmationWindow(session))
        scheduleHeartbeat()
    }

    /// How long one confirmed round trip lets the leader decide: well inside the session
    /// timeout (the one granted, if the ensemble lowered ours), which is the least time the
    /// ensemble waits before ending a silent session.
    private func confirmationWindow(_ session: ZooKeeperSession) -> Int64 {
        Int64(min(sessionTimeout, session.sessionTimeoutMilliseconds)) * 2 / 3
    }

    private func scheduleHeartbeat() {
        queue.asyncAfter(deadline: .now() + .milliseconds(Self.heartbeatMilliseconds)) { self.heartbeat() }
    }

    /// While leading: one round trip confirms the session and our lock znode.
    private func heartbeat() {
        guard let (session, lockNode, coordinator) = shared.withLock({ state -> (ZooKeeperSession, String, Coordinator)? in
            guard state.leading, !state.stopped, let session = state.session, let lockNode = state.lockNode,
                  let coordinator = state.coordinator else { return nil }
            return (session, lockNode, coordinator)
        }) else { return }
        let sentAt = ServerClock.monotonicMilliseconds()
        do {
            if try session.exists(tree.lock + "/" + lockNode) {
                coordinator.confirmLeadership(until: sentAt + confirmationWindow(session))
            } else {
                stepDown("our lock znode disappeared")
                shared.withLock { $0.lockNode = nil }
                enter()
                return
            }
        } catch {
            logger.warning("ZooKeeper did not confirm our lead: \(error)")
        }
        scheduleHeartbeat()
    }

    /// A follower takes the leader's newest map (and re-arms the watch).
    private func refreshMap() {
        guard let session = shared.withLock({ $0.session }), let coordinator = shared.withLock({ $0.coordinator }) else { return }
        do {
            let (state, version) = try tree.readNodeMap(session, watch: true)
            if !shared.withLock({ $0.leading }) {
                coordinator.adopt(state)
            } else if version > store.expectedVersion {
                // Not our write: the map was replaced by hand while we lead; start from it.
                logger.warning("\(tree.nodemap) was written by someone else: reading it again")
                stepDown("the node map in ZooKeeper changed under this leader")
                enter()
            }
        } catch {
            logger.warning("cannot read the node map from ZooKeeper: \(error)")
            if session.isConnected { retryLater() }
        }
    }

    private func refreshPrimary() {
        guard let session = shared.withLock({ $0.session }), let coordinator = shared.withLock({ $0.coordinator }) else { return }
        do {
            let primary = try session.get(tree.primary, watch: true).text
            coordinator.setLeader(primary.isEmpty || primary == me ? nil : primary)
        } catch {
            if error.isNoNode {
                _ = try? session.exists(tree.primary, watch: true)
                return
            }
            logger.warning("cannot read \(tree.primary): \(error)")
        }
    }
}
