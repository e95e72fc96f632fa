import FlareCluster

/// The index daemon's shell around the real `IndexState`, as Sources/FlareIndex/Coordinator.swift
/// and NodeMonitor.swift drive it. Every operation runs on the persisted state; a saving change
/// bumps the version and is pushed: to each priority node first, waiting for each (up to read
/// timeout + 1 s), then to everyone except `skipPush`. One monitor per node does one thing at a
/// time on its connection: it delivers a queued `node sync`, or else, after `monitorInterval`
/// (200 ms after a miss), pings; pings and pushes alike count consecutive failures, the
/// threshold-th runs node down, the first success after it node up. Leases as Coordinator grants
/// them, through the real `LeaseGrants`: each `lease` request (and map fetch) is granted for the
/// node's `master-lease` from its receipt unless revoked; an active master's node down is deferred
/// until its last grant expired, and called off if its monitor hears from it first.
final class SimIndex {
    struct Push {
        let version: UInt64
        let map: NodeMap
        /// Set for a priority push: the coordinator waits for this one.
        let waiter: UInt64?
    }

    struct Monitor {
        var failures = 0
        var queue: [Push] = []
        /// The request on the connection: its id and the push it delivers, if it is one.
        var busy: (id: UInt64, push: Push?)?
        /// The token of the scheduled wake-up; a push wakes the monitor early.
        var wakeToken: UInt64 = 0
        var waiting = false
        /// The threshold was reached and reported (NodeMonitor.reportedFailed).
        var reportedFailed = false
    }

    /// A coordinator operation's push still being delivered: priority nodes one by one, then all.
    struct PendingPush {
        let id: UInt64
        let version: UInt64
        let map: NodeMap
        var priority: [Int]
        let skip: String?
    }

    enum MonitorEvent {
        case failed(Int)
        case recovered(Int)
    }

    unowned let world: World
    /// The persisted flare.xml: survives an index crash.
    var state = IndexState()
    var up = true
    var monitors: [Monitor]
    /// The push the coordinator is waiting on; monitor events queue behind it (Coordinator.events).
    var pendingPush: PendingPush?
    var laterPushes: [PendingPush] = []
    var laterEvents: [MonitorEvent] = []
    /// Coordinator.leases: lost with the index process.
    var grants = LeaseGrants()
    /// Take-overs waiting for a lease to expire: the token of each one's `.leaseExpired`.
    var waitingForLease: [Int: UInt64] = [:]

    init(world: World) {
        self.world = world
        monitors = Array(repeating: Monitor(), count: world.nodeCount + 1)
    }

    /// Builds master n1 with `design.slaves` slaves (n2, n3) and proxies through the real operations.
    func bootstrap() {
        for n in 1...world.nodeCount { perform("node add n\(n)") { (s: inout IndexState) throws(IndexCommandError) in try s.addNode(name: "n\(n)", port: 12121) } }
        perform("role master n1") { (s: inout IndexState) throws(IndexCommandError) in try s.setRole(name: "n1", port: 12121, role: .master, balance: 1, partition: 0) }
        for n in 2..<(2 + world.design.slaves) {
            perform("role slave n\(n)") { (s: inout IndexState) throws(IndexCommandError) in try s.setRole(name: "n\(n)", port: 12121, role: .slave, balance: 1, partition: 0) }
            perform("active n\(n)") { (s: inout IndexState) throws(IndexCommandError) in try s.setState(name: "n\(n)", port: 12121, state: .active) }
        }
        // Start-up is not under test: every node starts registered with the map, and every replica
        // with the counter at 0.
        pendingPush = nil
        laterPushes = []
        for n in 1...world.nodeCount { monitors[n] = Monitor() }
        for n in 1...(1 + world.design.slaves) { world.nodeSeed(n, key: World.counterKey, value: "0", version: 1) }
        for n in 1...world.nodeCount {
            _ = grants.grant(world.nodeKey(n), milliseconds: leaseLength, now: world.now)
            world.nodeBoot(n, version: state.version, map: state.map)
            wait(n, pause: world.rng.range(1...world.timing.monitorInterval))
        }
    }

    func crash() {
        up = false
        pendingPush = nil
        laterPushes = []
        laterEvents = []
        grants = LeaseGrants()
        waitingForLease = [:]
        for n in 1...world.nodeCount { world.breakLink(indexEndpoint, n) }
    }

    /// Starts from the persisted state with fresh monitors (Coordinator.startMonitoring).
    func restart() {
        up = true
        for n in 1...world.nodeCount {
            monitors[n] = Monitor()
            wait(n, pause: world.timing.monitorInterval)
        }
    }

    @discardableResult
    func perform(_ name: String, _ operation: (inout IndexState) throws(IndexCommandError) -> IndexChange) -> Bool {
        var next = state
        let change: IndexChange
        do throws(IndexCommandError) {
            change = try operation(&next)
        } catch {
            world.log("index: \(name) refused: \(error)")
            return false
        }
        if change.save { next.version += 1 }
        state = next
        world.log("index: \(name) -> v\(state.version)\(change.save ? "" : " (unchanged)") [\(World.brief(state.map))]")
        if change.save {
            let push = PendingPush(id: world.freshID(), version: state.version, map: state.map,
                                   priority: change.priority.compactMap { world.node(forKey: $0) }, skip: change.skipPush)
            if pendingPush != nil { laterPushes.append(push) } else { start(push) }
        }
        return true
    }

    // MARK: Pushes (Coordinator.push)

    private func start(_ push: PendingPush) {
        pendingPush = push
        advancePush()
    }

    private func advancePush() {
        guard var push = pendingPush else { return }
        if !push.priority.isEmpty {
            let n = push.priority.removeFirst()
            pendingPush = push
            enqueue(n, Push(version: push.version, map: push.map, waiter: push.id))
            world.queue.push(world.now + world.timing.monitorReadTimeout + 1000, .priorityWait(push: push.id))
            return
        }
        for entry in push.map.entries where entry.nodeKey != push.skip {
            if let n = world.node(forKey: entry.nodeKey) { enqueue(n, Push(version: push.version, map: push.map, waiter: nil)) }
        }
        pendingPush = nil
        if !laterPushes.isEmpty { return start(laterPushes.removeFirst()) }
        // Monitor events that waited behind the push run now, in order.
        while pendingPush == nil, !laterEvents.isEmpty { run(laterEvents.removeFirst()) }
    }

    private func priorityDone(_ id: UInt64) {
        guard let push = pendingPush, push.id == id else { return }
        advancePush()
    }

    // MARK: Monitors (NodeMonitor.run)

    private func enqueue(_ n: Int, _ push: Push) {
        monitors[n].queue.append(push)
        if monitors[n].waiting { probe(n) }
    }

    private func wait(_ n: Int, pause: Int64) {
        monitors[n].waiting = true
        monitors[n].wakeToken = world.freshID()
        world.queue.push(world.now + pause, .monitorWake(node: n, token: monitors[n].wakeToken))
    }

    private func probe(_ n: Int) {
        monitors[n].waiting = false
        let id = world.freshID()
        if !monitors[n].queue.isEmpty {
            let push = monitors[n].queue.removeFirst()
            monitors[n].busy = (id, push)
            world.send(indexEndpoint, n, .push(id: id, version: push.version, map: push.map))
            world.queue.push(world.now + max(world.timing.monitorReadTimeout, 1000), .monitorTimeout(node: n, id: id))
        } else {
            monitors[n].busy = (id, nil)
            world.send(indexEndpoint, n, .ping(id: id))
            world.queue.push(world.now + world.timing.monitorReadTimeout, .monitorTimeout(node: n, id: id))
        }
    }

    private func finished(_ n: Int, ok: Bool) {
        guard let busy = monitors[n].busy else { return }
        monitors[n].busy = nil
        if !ok { world.log("index: monitor of n\(n): no answer to #\(busy.id)") }
        if !ok { world.breakLink(indexEndpoint, n) }
        if let waiter = busy.push?.waiter { priorityDone(waiter) }
        account(n, ok: ok)
        let failures = monitors[n].failures
        let soon = (failures > 0 && failures < world.timing.threshold) || monitors[n].reportedFailed
        let pause = soon ? min(world.timing.monitorInterval, world.timing.monitorRetry) : world.timing.monitorInterval
        if monitors[n].queue.isEmpty { wait(n, pause: pause) } else { probe(n) }
    }

    /// NodeMonitor.account.
    private func account(_ n: Int, ok: Bool) {
        let threshold = world.timing.threshold
        let isDown = state.map[nodeKey: world.nodeKey(n)]?.state == .down
        if isDown {
            monitors[n].failures = max(monitors[n].failures, threshold)
            monitors[n].reportedFailed = false
        } else if monitors[n].failures >= threshold {
            monitors[n].failures = 0
        }
        if ok {
            if monitors[n].failures >= threshold { event(.recovered(n)) } else if monitors[n].reportedFailed { answered(n) }
            monitors[n].reportedFailed = false
            monitors[n].failures = 0
        } else {
            monitors[n].failures += 1
            if monitors[n].failures == threshold {
                monitors[n].reportedFailed = true
                failed(n)
            }
        }
    }

    // MARK: Leases (Coordinator.nodeFailed, nodeAnswered, renewLease)

    /// What every node asks for: its `master-lease`.
    private var leaseLength: Int64 { world.design.lease ? world.timing.lease : 0 }

    /// An active master's take-over waits for its last grant to expire, revoked meanwhile.
    private func failed(_ n: Int) {
        let key = world.nodeKey(n)
        guard world.design.leaseGrants, let entry = state.map[nodeKey: key], entry.role == .master, entry.state == .active else {
            return event(.failed(n))
        }
        guard waitingForLease[n] == nil else { return }
        let token = world.freshID()
        waitingForLease[n] = token
        let at = grants.revoke(key, now: world.now)
        world.log("index: n\(n) does not answer: lease revoked, node down at \(at)")
        world.queue.push(at, .leaseExpired(node: n, token: token))
    }

    private func answered(_ n: Int) {
        guard waitingForLease.removeValue(forKey: n) != nil else { return }
        grants.restore(world.nodeKey(n))
        world.log("index: n\(n) answers before its lease expired: node down called off")
    }

    /// `lease` (or the lease request of a map fetch): granted unless revoked.
    private func renew(_ n: Int) -> Bool {
        guard world.design.leaseGrants else { return true }
        return grants.grant(world.nodeKey(n), milliseconds: leaseLength, now: world.now)
    }

    private func event(_ event: MonitorEvent) {
        if pendingPush != nil { laterEvents.append(event) } else { run(event) }
    }

    private func run(_ event: MonitorEvent) {
        switch event {
        case .failed(let n):
            perform("node down n\(n)") { (s: inout IndexState) throws(IndexCommandError) in try s.nodeDown(nodeKey: world.nodeKey(n), shutdown: false) }
            // After a deferred take-over every grant has expired (none made since the revocation).
            if grants.isRevoked(world.nodeKey(n)) { grants.forget(world.nodeKey(n)) }
        case .recovered(let n):
            perform("node up n\(n)") { (s: inout IndexState) throws(IndexCommandError) in try s.nodeUp(nodeKey: world.nodeKey(n)) }
        }
    }

    // MARK: Requests

    func receive(from n: Int, _ message: Message) {
        guard up else { return }
        switch message {
        case .monitorOK(let id):
            guard monitors[n].busy?.id == id else { return }
            finished(n, ok: true)
        case .lease(let id):
            let granted = renew(n)
            world.send(indexEndpoint, n, .leaseReply(id: id, version: state.version, granted: granted))
        case .fetchMap(let id):
            let granted = renew(n)
            world.send(indexEndpoint, n, .fetchReply(id: id, version: state.version, map: state.map, granted: granted))
        case .nodeAdd(let id):
            // Coordinator.addNode: a re-added node's old process is gone, its take-over waits no more.
            if waitingForLease.removeValue(forKey: n) != nil { grants.restore(world.nodeKey(n)) }
            perform("node add n\(n)") { (s: inout IndexState) throws(IndexCommandError) in try s.addNode(name: "n\(n)", port: 12121) }
            world.send(indexEndpoint, n, .nodeAddReply(id: id, map: state.map))
        case .command(let id, let line):
            world.send(indexEndpoint, n, .commandReply(id: id, ok: command(line)))
        default:
            break
        }
    }

    /// The lines NodeCore sends: `node state <name> <port> active|ready`, `node role <name> <port> <role> <balance> <partition>`.
    private func command(_ line: String) -> Bool {
        let words = line.split(separator: " ").map(String.init)
        guard words.count >= 5, words[0] == "node", let port = Int(words[3]) else { return false }
        let name = words[2]
        switch words[1] {
        case "state":
            guard let nodeState = NodeState(name: words[4]) else { return false }
            return perform(line) { (s: inout IndexState) throws(IndexCommandError) in try s.setState(name: name, port: port, state: nodeState) }
        case "role":
            guard words.count == 7, let role = NodeRole(name: words[4]), let balance = Int(words[5]), let partition = Int(words[6]) else { return false }
            return perform(line) { (s: inout IndexState) throws(IndexCommandError) in try s.setRole(name: name, port: port, role: role, balance: balance, partition: partition) }
        default:
            return false
        }
    }

    func handle(_ event: SimEvent) {
        guard up else { return }
        switch event {
        case .monitorWake(let n, let token):
            guard monitors[n].waiting, monitors[n].wakeToken == token else { return }
            probe(n)
        case .monitorTimeout(let n, let id):
            guard monitors[n].busy?.id == id else { return }
            finished(n, ok: false)
        case .leaseExpired(let n, let token):
            guard waitingForLease[n] == token else { return }
            waitingForLease[n] = nil
            self.event(.failed(n))
        case .priorityWait(let id):
            guard pendingPush?.id == id else { return }
            world.log("index: priority push timed out")
            advancePush()
        default:
            break
        }
    }
}
