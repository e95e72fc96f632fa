import FlareCluster

/// The index daemon's shell around the real `IndexState`, as Sources/FlareIndex/Coordinator.swift
/// and NodeMonitor.swift drive it: every operation runs on the persisted state, a saving change
/// bumps the version and is pushed (priority nodes first, waited for, then everyone except
/// `skipPush`); one monitor per node pings every interval (sooner after a miss), counts
/// consecutive failures, runs node down at `threshold` and node up at the first success after.
///
/// Modelled additions of the design under test (see SimDesign): pings grant a master lease and
/// carry the map version; fail-over of a master waits for the last granted lease to run out.
final class SimIndex {
    struct Monitor {
        var failures = 0
        var outstanding: UInt64?
        /// Send time of the last ping that granted this node a lease.
        var lastGrant: Int64 = 0
        /// A down decision is waiting for the lease to run out: grant nothing more.
        var revoking = false
    }

    struct PendingPush {
        let id: UInt64
        let version: UInt64
        let map: NodeMap
        var waitingFor: Set<Int>
        let skip: String?
    }

    unowned let world: World
    /// The persisted flare.xml: survives an index crash.
    var state = IndexState()
    var up = true
    var incarnation: UInt64 = 0
    var monitors: [Monitor]
    var pendingPush: PendingPush?
    var laterPushes: [PendingPush] = []

    init(world: World) {
        self.world = world
        monitors = Array(repeating: Monitor(), count: world.nodeCount + 1)
    }

    /// Builds master n1 with slaves n2, n3 and proxy n4 through the real operations.
    func bootstrap() {
        for n in 1...world.nodeCount { perform("node add n\(n)") { (s: inout IndexState) throws(IndexCommandError) in try s.addNode(name: "n\(n)", port: 12121) } }
        perform("role master n1") { (s: inout IndexState) throws(IndexCommandError) in try s.setRole(name: "n1", port: 12121, role: .master, balance: 1, partition: 0) }
        for n in 2...3 {
            perform("role slave n\(n)") { (s: inout IndexState) throws(IndexCommandError) in try s.setRole(name: "n\(n)", port: 12121, role: .slave, balance: 1, partition: 0) }
            perform("active n\(n)") { (s: inout IndexState) throws(IndexCommandError) in try s.setState(name: "n\(n)", port: 12121, state: .active) }
        }
        // Start-up is not under test: every node starts with the map, the master with a lease,
        // and every replica with the counter at 0.
        pendingPush = nil
        laterPushes = []
        for n in 1...3 { world.nodeSeed(n, key: World.counterKey, value: "0", version: 1) }
        for n in 1...world.nodeCount {
            world.nodeApplyMap(n, version: state.version, map: state.map)
            world.queue.push(world.rng.range(1...world.timing.monitorInterval), .monitorTick(node: n, incarnation: incarnation))
            world.queue.push(world.rng.range(1...world.timing.nodeTick), .nodeTick(node: n, incarnation: world.nodes[n].incarnation))
        }
        monitors[1].lastGrant = 0
        world.nodes[1].leaseUntil = world.design.lease ? world.timing.lease : Int64.max
    }

    func crash() {
        up = false
        incarnation += 1
        pendingPush = nil
        laterPushes = []
    }

    /// Starts from the persisted state with fresh monitors. It cannot know which leases the
    /// previous process granted, so it treats every node as granted one just now.
    func restart() {
        up = true
        incarnation += 1
        monitors = Array(repeating: Monitor(lastGrant: world.now), count: world.nodeCount + 1)
        for n in 1...world.nodeCount {
            world.queue.push(world.now + world.rng.range(1...world.timing.monitorInterval), .monitorTick(node: n, incarnation: incarnation))
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
        for n in 1...world.nodeCount {
            let entry = state.map[nodeKey: world.nodeKey(n)]
            if !(entry?.role == .master && entry?.state == .active) { monitors[n].revoking = false }
        }
        if change.save { push(change) }
        return true
    }

    private func push(_ change: IndexChange) {
        let push = PendingPush(id: world.freshID(), version: state.version, map: state.map,
                               waitingFor: Set(change.priority.compactMap { world.node(forKey: $0) }), skip: change.skipPush)
        if pendingPush != nil {
            // The real coordinator pushes one operation's map after the other.
            laterPushes.append(push)
            return
        }
        start(push)
    }

    private func start(_ push: PendingPush) {
        pendingPush = push
        guard !push.waitingFor.isEmpty else { return broadcast() }
        for n in push.waitingFor.sorted() { world.send(indexEndpoint, n, .push(version: push.version, map: push.map)) }
        world.queue.push(world.now + world.timing.monitorReadTimeout + 1000, .priorityWait(push: push.id, incarnation: incarnation))
    }

    private func broadcast() {
        guard let push = pendingPush else { return }
        for entry in push.map.entries where entry.nodeKey != push.skip {
            if let n = world.node(forKey: entry.nodeKey) { world.send(indexEndpoint, n, .push(version: push.version, map: push.map)) }
        }
        pendingPush = nil
        if !laterPushes.isEmpty { start(laterPushes.removeFirst()) }
    }

    func receive(from node: Int, _ message: Message) {
        guard up else { return }
        switch message {
        case .pong(let id):
            guard monitors[node].outstanding == id else { return }
            monitors[node].outstanding = nil
            account(node, ok: true)
        case .pushAck(let version):
            guard var push = pendingPush, push.version == version, push.waitingFor.contains(node) else { return }
            push.waitingFor.remove(node)
            pendingPush = push
            if push.waitingFor.isEmpty { broadcast() }
        case .restarted:
            restarted(node)
        case .fetchMap:
            world.send(indexEndpoint, node, .push(version: state.version, map: state.map))
        default:
            break
        }
    }

    /// A restarted process lost its predecessor's lease and replication state: it is taken down
    /// (fail-over, after any lease ran out) and then registered with `node add`, whose reply is
    /// the map. Until then the node keeps asking.
    private func restarted(_ node: Int) {
        let key = world.nodeKey(node)
        guard let entry = state.map[nodeKey: key] else { return }
        if entry.state != .down {
            decideDown(node)
            return
        }
        perform("node add n\(node)") { (s: inout IndexState) throws(IndexCommandError) in try s.addNode(name: "n\(node)", port: 12121) }
        world.send(indexEndpoint, node, .push(version: state.version, map: state.map))
    }

    func handle(_ event: SimEvent) {
        guard up else { return }
        switch event {
        case .monitorTick(let node, let inc):
            guard inc == incarnation, monitors[node].outstanding == nil else { return }
            let id = world.freshID()
            monitors[node].outstanding = id
            let entry = state.map[nodeKey: world.nodeKey(node)]
            let grant = world.design.lease && entry?.role == .master && entry?.state == .active && !monitors[node].revoking
            if grant { monitors[node].lastGrant = world.now }
            world.send(indexEndpoint, node, .ping(id: id, sentAt: world.now, grant: grant,
                                                  mapVersion: world.design.pingCarriesVersion ? state.version : 0))
            world.queue.push(world.now + world.timing.monitorReadTimeout, .pingTimeout(node: node, id: id, incarnation: incarnation))
        case .pingTimeout(let node, let id, let inc):
            guard inc == incarnation, monitors[node].outstanding == id else { return }
            monitors[node].outstanding = nil
            account(node, ok: false)
        case .delayedDown(let node, let inc):
            guard inc == incarnation else { return }
            perform("node down n\(node)") { (s: inout IndexState) throws(IndexCommandError) in try s.nodeDown(nodeKey: world.nodeKey(node), shutdown: false) }
        case .priorityWait(let id, let inc):
            guard inc == incarnation, pendingPush?.id == id else { return }
            world.log("index: priority push timed out")
            broadcast()
        default:
            break
        }
    }

    /// NodeMonitor.account: the threshold-th consecutive failure takes the node down, the first
    /// success after that brings it up.
    private func account(_ node: Int, ok: Bool) {
        let threshold = world.timing.threshold
        let isDown = state.map[nodeKey: world.nodeKey(node)]?.state == .down
        if isDown { monitors[node].failures = max(monitors[node].failures, threshold) }
        else if monitors[node].failures >= threshold { monitors[node].failures = 0 }
        var pause = world.timing.monitorInterval
        if ok {
            if monitors[node].failures >= threshold {
                perform("node up n\(node)") { (s: inout IndexState) throws(IndexCommandError) in try s.nodeUp(nodeKey: world.nodeKey(node)) }
            }
            monitors[node].failures = 0
        } else {
            monitors[node].failures += 1
            if monitors[node].failures == threshold { decideDown(node) }
            if monitors[node].failures < threshold { pause = world.timing.monitorRetry }
        }
        world.queue.push(world.now + pause, .monitorTick(node: node, incarnation: incarnation))
    }

    /// Node down, after the last lease granted to the node has run out.
    private func decideDown(_ node: Int) {
        guard !monitors[node].revoking else { return }
        let at = world.design.lease ? max(world.now, monitors[node].lastGrant + world.timing.lease) : world.now
        monitors[node].revoking = true
        if at == world.now {
            perform("node down n\(node)") { (s: inout IndexState) throws(IndexCommandError) in try s.nodeDown(nodeKey: world.nodeKey(node), shutdown: false) }
        } else {
            world.log("index: n\(node) down once its lease ends at \(at)")
            world.queue.push(at, .delayedDown(node: node, incarnation: incarnation))
        }
    }
}
