import FlareCluster
@testable import FlareStorage

/// A simulated flared. Its control plane is the real `NodeCore`: the shell here delivers the
/// events the real shell delivers (NodeMembership, IndexLease, StallGuard) and executes the
/// effects. Its data path follows NodeHandler: the serving decision per request
/// (NodeHandler+Serving.swift), routing and the sender check through the real `WriteRouting`
/// (what ClusterView wraps), execution on the real `ItemStore`, copies as Replication.swift sends
/// them through one `ReplicationQueue` per destination as ReplicationStream keeps it.
///
/// What survives a crash is what the real node keeps on disk: the store's records (not the
/// delete-hold cache, which the real node keeps in memory), whether it was a cluster member, and
/// its last role (for `rejoin-as-slave`).
final class SimNode {
    let id: Int
    unowned let world: World
    let skew: Int64

    // Disk.
    let engine: MemoryEngine
    var formerMember = false
    var rememberedRole: NodeEntry?

    // Process memory, lost on a crash.
    var up = true
    var incarnation: UInt64 = 0
    var store: ItemStore
    var core: NodeCore
    var routing: WriteRouting?
    var viewVersion: UInt64 = 0
    /// The era fence on copies, continued map by map as ClusterView does (CopyFloors).
    var copyFloors = CopyFloors()
    var stalledUntil: Int64?
    var deferred: [SimEvent] = []
    var lastTick: Int64 = 0
    var streams: [Int: Stream] = [:]
    var pending: [UInt64: PendingWrite] = [:]
    var forwards: [UInt64: PendingForward] = [:]
    var lease = LeaseThread()
    var registration: (id: UInt64, deadline: Int64)?
    var nextRegistration: Int64?
    var told: [UInt64: (line: String, deadline: Int64)] = [:]
    var dumping: (id: UInt64, deadline: Int64)?
    var dumpSource: Int?

    struct LeaseThread {
        var inFlight: (id: UInt64, sentAt: Int64, fetch: Bool)?
        var fetchWanted = false
        var token: UInt64 = 0
        var nextRound: Int64 = 0
    }

    /// ReplicationStream: one ordered queue per destination and its connection.
    struct Stream {
        var queue = ReplicationQueue<StreamOp, UInt64>(byteLimit: 64 << 20)
        /// The connection's number; 0 while disconnected.
        var conn: UInt64 = 0
        /// The link epoch the connection runs on: a reset ends it, as TCP tells both ends.
        var epoch: UInt64 = 0
        var reconnectAt: Int64 = 0
        var backoff: Int64 = 0
        var oldestInFlightSince: Int64 = 0
    }

    enum ReplyTo {
        case client(Int, opID: Int)
        case forwarded(node: Int, id: UInt64)
        case stream(node: Int, conn: UInt64, position: UInt64)
    }

    /// A sync write waiting for its copies' confirmations (ReplicaGather).
    struct PendingWrite {
        let replyTo: ReplyTo
        let reply: ClientReply
        var outstanding: Int
        var failed: [Int] = []
        let opID: Int?
        let partition: Int
        let executedAt: Int64
        let mapVersion: UInt64
    }

    struct PendingForward {
        let replyTo: ReplyTo
        let deadline: Int64
    }

    init(id: Int, world: World, skewMicroseconds: Int64) {
        self.id = id
        self.world = world
        self.skew = skewMicroseconds
        engine = MemoryEngine(limitBytes: 1 << 24, shardCount: 4)
        store = ItemStore(engine: engine, deleteHoldCapacity: 1024)
        core = NodeCore(configuration: .init(name: "n\(id)", port: 12121, hasIndex: true, leaseMilliseconds: 0))
        store = makeStore()
        core = makeCore()
    }

    /// A fresh process's store over the kept records: new delete-hold cache, new clock.
    func makeStore() -> ItemStore {
        let clock = world.wallClock
        let skew = self.skew
        return ItemStore(engine: engine, deleteHoldCapacity: 1024,
                         versions: VersionClock(microseconds: { UInt64(clock.read() + skew) }))
    }

    func makeCore() -> NodeCore {
        NodeCore(configuration: .init(name: "n\(id)", port: 12121, hasIndex: true,
                                      leaseMilliseconds: world.design.lease ? world.timing.lease : 0))
    }

    func forgetProcessMemory() {
        routing = nil
        viewVersion = 0
        copyFloors = CopyFloors()
        streams = [:]
        pending = [:]
        forwards = [:]
        deferred = []
        stalledUntil = nil
        lease = LeaseThread()
        registration = nil
        nextRegistration = nil
        told = [:]
        dumping = nil
    }
}

extension World {
    // MARK: Process life

    /// Start-up is not under test: a registered node with the map and, for the master, a lease.
    func nodeBoot(_ n: Int, version: UInt64, map: NodeMap) {
        let node = nodes[n]
        step(n, .started(formerMember: false, formerPartition: nil, rejoinAsSlave: design.rejoinAsSlave, now: now))
        step(n, .mapPushed(version: version, map: map))
        step(n, .indexContact(sentAt: now, indexVersion: version))
        node.lastTick = now
        queue.push(rng.range(1...timing.nodeTick), .nodeTick(node: n, incarnation: node.incarnation))
        scheduleLeaseRound(n, at: rng.range(1...timing.leaseInterval))
    }

    func crashNode(_ n: Int) {
        nodes[n].up = false
        nodes[n].incarnation += 1
        nodes[n].forgetProcessMemory()
        // Its connections die with it: nothing in flight reaches the next process.
        for other in 0...nodeCount where other != n { breakLink(n, other) }
        for client in clients { breakLink(n, clientBase + client.id) }
    }

    func restartNode(_ n: Int) {
        let node = nodes[n]
        // A new process: whatever was opened to the old one while it was down is not its.
        for other in 0...nodeCount where other != n { breakLink(n, other) }
        node.up = true
        node.incarnation += 1
        node.forgetProcessMemory()
        node.store = node.makeStore()
        node.core = node.makeCore()
        node.lastTick = now
        let former = node.rememberedRole.flatMap { $0.role == .master || $0.role == .slave ? $0.partition : nil }
        step(n, .started(formerMember: node.formerMember, formerPartition: former, rejoinAsSlave: design.rejoinAsSlave, now: now))
        register(n)
        queue.push(now + timing.nodeTick, .nodeTick(node: n, incarnation: node.incarnation))
        scheduleLeaseRound(n, at: now)
    }

    func resumeNode(_ n: Int) {
        let node = nodes[n]
        node.stalledUntil = nil
        // StallGuard: the ticker sees its stamp over a second old and fences before anything runs
        // (a worker seeing the old stamp refuses on its own meanwhile).
        if now - node.lastTick > timing.stall { step(n, .stallDetected(now: now)) }
        node.lastTick = now
        let backlog = node.deferred
        node.deferred = []
        for event in backlog { nodeEvent(n, event) }
    }

    /// Start-up data, written identically to a replica's store.
    func nodeSeed(_ n: Int, key: String, value: String, version: UInt64) {
        _ = storeSet(nodes[n].store, key: key, value: Array(value.utf8), flags: 0, version: version)
    }

    // MARK: The control plane: NodeCore and its effects

    func step(_ n: Int, _ event: NodeEvent) {
        let node = nodes[n]
        let effects = node.core.step(event)
        for effect in effects { execute(n, effect) }
    }

    private func execute(_ n: Int, _ effect: NodeEffect) {
        let node = nodes[n]
        switch effect {
        case .install(let map, let version, let layout):
            install(n, map: map, version: version, layout: layout)
        case .fetchMap:
            node.lease.fetchWanted = true
            // Wakes the lease thread: a round runs now unless one is under way.
            if node.lease.inFlight == nil { scheduleLeaseRound(n, at: now) }
        case .tellIndex(let line):
            let id = freshID()
            node.told[id] = (line, now + timing.indexCallTimeout)
            send(n, indexEndpoint, .command(id: id, line: line))
        case .construct(let construction):
            guard let source = construction.sources.first, let from = self.node(forKey: source.node.nodeKey) else {
                return step(n, .constructionFinished(ok: false))
            }
            let id = freshID()
            node.dumping = (id, now + timing.dumpTimeout)
            node.dumpSource = from
            log("n\(n) dumps partition \(construction.partition) from n\(from)")
            send(n, from, .dump(id: id, minimum: design.dumpWaitsForSourceMap ? node.viewVersion : 0))
        case .catchUp:
            // The master's backlog is not modelled: the slave falls back to a full copy, as
            // the real node does when the backlog does not reach back far enough.
            step(n, .catchUpFinished(.failed("no backlog in the simulation")))
        case .clearData:
            try? node.store.flushAll()
        case .rememberRole(let entry):
            node.rememberedRole = entry
        case .recordMembership:
            node.formerMember = true
        case .log(_, let message):
            log("n\(n): \(message)")
        }
    }

    /// NodeMembership.publishLocked + ReplicationStreams.streams(for:): the new view, and the
    /// streams it copies to.
    private func install(_ n: Int, map: NodeMap, version: UInt64, layout: PartitionLayout) {
        let node = nodes[n]
        let wasMaster = (node.routing?.masterOf ?? -1) >= 0
        let routing = WriteRouting(selfKey: nodeKey(n), standalone: false, map: map, layout: layout, resolver: resolver)
        node.routing = routing
        node.viewVersion = version
        node.copyFloors = node.copyFloors.next(map: map, version: version)
        log("n\(n) installs v\(version) [\(World.brief(map))]")
        let targets = routing.allReplicaTargets.compactMap { self.node(forKey: $0.nodeKey) }
        let isMaster = !targets.isEmpty || routing.masterOf >= 0
        for dest in node.streams.keys.sorted() where !targets.contains(dest) {
            var stream = node.streams.removeValue(forKey: dest)!
            breakLink(n, dest)
            // destinationLeft: waiting writes count the copy as done; noLongerMaster: they fail.
            for token in stream.queue.drainWaiters() { answered(n, token: token, from: dest, ok: isMaster) }
        }
        var snapshot: StreamOp?
        if !wasMaster && routing.masterOf >= 0 && design.resyncOnPromotion {
            snapshot = .snapshot(keys.compactMap { key in
                readItem(node.store, key: key).map { SnapshotItem(key: key, value: $0.value, flags: $0.flags, version: $0.version) }
            })
        }
        for dest in targets where node.streams[dest] == nil {
            var stream = SimNode.Stream()
            if let snapshot { _ = stream.queue.append(snapshot, bytes: snapshot.bytes) }
            node.streams[dest] = stream
            openStream(n, to: dest)
        }
    }

    // MARK: Events

    func nodeEvent(_ n: Int, _ event: SimEvent) {
        let node = nodes[n]
        guard node.up else {
            // Nobody listens: a real connection to a dead process is refused or reset, so
            // nothing sent on it later can arrive at the next process over a gap.
            if case .deliver(let from, _, _, _) = event { breakLink(from, n) }
            return
        }
        if node.stalledUntil != nil {
            node.deferred.append(event)
            return
        }
        switch event {
        case .deliver(let from, _, _, let message):
            nodeReceive(n, from: from, message)
        case .nodeTick(_, let inc):
            guard inc == node.incarnation else { return }
            node.lastTick = now
            nodeTick(n)
            queue.push(now + timing.nodeTick, .nodeTick(node: n, incarnation: node.incarnation))
        case .leaseRound(_, let token):
            guard token == node.lease.token else { return }
            leaseRound(n)
        default:
            break
        }
    }

    private func nodeReceive(_ n: Int, from: Endpoint, _ message: Message) {
        let node = nodes[n]
        switch message {
        case .ping(let id):
            send(n, indexEndpoint, .monitorOK(id: id))
        case .push(let id, let version, let map):
            step(n, .mapPushed(version: version, map: map))
            send(n, indexEndpoint, .monitorOK(id: id))
        case .leaseReply(let id, let version, let granted):
            guard let round = node.lease.inFlight, round.id == id else { return }
            node.lease.inFlight = nil
            step(n, .indexContact(sentAt: round.sentAt, indexVersion: version, granted: granted))
            scheduleLeaseRound(n, at: node.lease.fetchWanted ? now : max(now, round.sentAt + timing.leaseInterval))
        case .fetchReply(let id, let version, let map, let granted):
            guard let round = node.lease.inFlight, round.id == id else { return }
            node.lease.inFlight = nil
            step(n, .mapFetched(version: version, map: map, sentAt: round.sentAt, granted: granted))
            scheduleLeaseRound(n, at: node.lease.fetchWanted ? now : max(now, round.sentAt + timing.leaseInterval))
        case .nodeAddReply(let id, let map):
            guard node.registration?.id == id else { return }
            node.registration = nil
            step(n, .registered(map: map))
        case .commandReply(let id, let ok):
            guard let told = node.told.removeValue(forKey: id) else { return }
            step(n, .toldIndex(line: told.line, accepted: ok))
        case .request(let request):
            clientRequest(n, request)
        case .forward(let id, let write):
            executeWrite(n, write, replyTo: .forwarded(node: from, id: id))
        case .forwardReply(let id, let reply):
            guard let pending = node.forwards.removeValue(forKey: id) else { return }
            answer(n, pending.replyTo, reply)
        case .replicate(let conn, let position, let op):
            switch op {
            case .write(let write):
                executeWrite(n, write, replyTo: .stream(node: from, conn: conn, position: position))
            case .snapshot(let items):
                send(n, from, .replicateReply(conn: conn, position: position, applySnapshot(n, from: from, items)))
            }
        case .replicateReply(let conn, let position, let reply):
            streamReply(n, from: from, conn: conn, position: position, reply)
        case .dump(let id, let minimum):
            // SourceMapWait: the copying node asks (the real one polls `stats`) until this node
            // routes by its map, then dumps.
            guard node.viewVersion >= minimum else { return send(n, from, .dumpNotYet(id: id)) }
            // `dump` is not a data command: no serving check; the records as stored now.
            let items = keys.compactMap { key in
                readItem(node.store, key: key).map { SnapshotItem(key: key, value: $0.value, flags: $0.flags, version: $0.version) }
            }
            send(n, from, .dumpReply(id: id, items))
        case .dumpNotYet(let id):
            guard node.dumping?.id == id, let source = node.dumpSource else { return }
            send(n, source, .dump(id: id, minimum: node.viewVersion))
        case .dumpReply(let id, let items):
            guard node.dumping?.id == id else { return }
            node.dumping = nil
            for item in items { _ = storeSet(node.store, key: item.key, value: item.value, flags: item.flags, version: item.version) }
            step(n, .constructionFinished(ok: true))
        default:
            break
        }
    }

    // MARK: Index client: registration, lease rounds

    private func register(_ n: Int) {
        let id = freshID()
        nodes[n].registration = (id, now + timing.indexCallTimeout)
        nodes[n].nextRegistration = nil
        send(n, indexEndpoint, .nodeAdd(id: id))
    }

    func scheduleLeaseRound(_ n: Int, at time: Int64) {
        let node = nodes[n]
        node.lease.token = freshID()
        node.lease.nextRound = time
        queue.push(time, .leaseRound(node: n, token: node.lease.token))
    }

    /// IndexLease.round: `lease` (and the map, when a fetch is wanted) on its connection.
    private func leaseRound(_ n: Int) {
        let node = nodes[n]
        guard node.lease.inFlight == nil else { return }
        let id = freshID()
        let fetch = node.lease.fetchWanted
        node.lease.fetchWanted = false
        node.lease.inFlight = (id, now, fetch)
        send(n, indexEndpoint, fetch ? .fetchMap(id: id) : .lease(id: id))
    }

    // MARK: Timers

    private func nodeTick(_ n: Int) {
        let node = nodes[n]
        step(n, .tick(now: now))
        if let round = node.lease.inFlight, now - round.sentAt >= timing.leaseTimeout {
            // No answer: the connection is dropped, the core told, the next round starts at once.
            node.lease.inFlight = nil
            if round.fetch { node.lease.fetchWanted = true }
            breakLink(n, indexEndpoint)
            step(n, .indexUnreachable(now: now))
            if node.lease.inFlight == nil { scheduleLeaseRound(n, at: now) }
        }
        if let registration = node.registration, now >= registration.deadline {
            node.registration = nil
            node.nextRegistration = now + timing.registerRetry
        }
        if let next = node.nextRegistration, now >= next { register(n) }
        for id in node.told.keys.sorted() where node.told[id]!.deadline <= now {
            let told = node.told.removeValue(forKey: id)!
            step(n, .toldIndex(line: told.line, accepted: false))
        }
        if let dumping = node.dumping, now >= dumping.deadline {
            node.dumping = nil
            step(n, .constructionFinished(ok: false))
        }
        for id in node.forwards.keys.sorted() where node.forwards[id]!.deadline <= now {
            let pending = node.forwards.removeValue(forKey: id)!
            answer(n, pending.replyTo, .uncertain("SERVER_ERROR proxy error"))
        }
        for dest in node.streams.keys.sorted() { streamTick(n, dest) }
    }

    // MARK: Requests (NodeHandler.execute)

    enum Batch { case serve, refuseData, refuseMaster }

    /// StallGuard.check: what a worker does with a request under its view.
    private func batch(_ n: Int) -> Batch {
        let node = nodes[n]
        let serving = node.core.serving
        guard node.routing != nil, serving.servesData(version: node.viewVersion) else { return .refuseData }
        return serving.mayActAsMaster(now: now) ? .serve : .refuseMaster
    }

    private func clientRequest(_ n: Int, _ request: ClientRequest) {
        if case .gets(let key) = request.op {
            return read(n, key: key, replyTo: .client(request.client, opID: request.opID), path: [])
        }
        executeWrite(n, WireWrite(op: request.op, sync: request.sync, path: [], opID: request.opID), replyTo: .client(request.client, opID: request.opID))
    }

    /// gets: local on the master and on slaves that serve reads, else from the master (the real
    /// node draws a reader at random for a proxy; the master is always one).
    private func read(_ n: Int, key: String, replyTo: SimNode.ReplyTo, path: [Int]) {
        let node = nodes[n]
        let state = batch(n)
        if state == .refuseData { return answer(n, replyTo, .refused("SERVER_ERROR waiting for the index server to confirm this node's role")) }
        guard let routing = node.routing else { return }
        let route = withKey(key) { routing.routeRead($0) }
        if route == .local {
            if state == .refuseMaster && routing.masterOf >= 0 {
                return answer(n, replyTo, .refused("SERVER_ERROR refusing to act as master"))
            }
            guard let item = readItem(node.store, key: key) else { return answer(n, replyTo, .miss) }
            return answer(n, replyTo, .found(value: String(decoding: item.value, as: UTF8.self), unique: item.version))
        }
        guard path.isEmpty, case .forward(let master) = withKey(key, { routing.routeWrite($0) }), let target = self.node(forKey: master) else {
            return answer(n, replyTo, .miss)
        }
        let id = freshID()
        node.forwards[id] = SimNode.PendingForward(replyTo: replyTo, deadline: now + timing.forwardTimeout)
        send(n, target, .forward(id: id, WireWrite(op: .gets(key: key), sync: false, path: [n], opID: nil)))
    }

    /// One write as NodeHandler.execute runs it: serving decision, route, sender check, store,
    /// replication.
    func executeWrite(_ n: Int, _ write: WireWrite, replyTo: SimNode.ReplyTo) {
        if case .gets(let key) = write.op { return read(n, key: key, replyTo: replyTo, path: write.path) }
        let node = nodes[n]
        let state = batch(n)
        if state == .refuseData { return answer(n, replyTo, .refused("SERVER_ERROR waiting for the index server to confirm this node's role")) }
        guard let routing = node.routing else { return }
        let key = write.op.key
        // NodeHandler.execute: a stamped copy is applied as a copy (never executed as master);
        // anything else is a write routed to the key's master.
        let isCopy = write.stamp != nil
        let route = isCopy ? Route.local : withKey(key) { routing.routeWrite($0) }
        if state == .refuseMaster && routing.masterOf >= 0 && route == .local && !isCopy {
            return answer(n, replyTo, .refused("SERVER_ERROR this node has not heard from the index server: refusing to act as master"))
        }
        switch route {
        case .local:
            break
        case .noPartition, .unavailable:
            return answer(n, replyTo, .refused("SERVER_ERROR no partition available"))
        case .forward(let master):
            // Proxy.forwardWrite: a loop or an unknown node fails without sending.
            guard !write.path.contains(n), let target = self.node(forKey: master) else {
                return answer(n, replyTo, .uncertain("SERVER_ERROR proxy error"))
            }
            var forwarded = write
            forwarded.path.append(n)
            let id = freshID()
            node.forwards[id] = SimNode.PendingForward(replyTo: replyTo, deadline: now + timing.forwardTimeout)
            send(n, target, .forward(id: id, forwarded))
            return
        }
        if isCopy, let sender = write.path.last, design.senderCheck,
           !(withKey(key, { routing.acceptsReplica(of: $0, from: nodeKey(sender)) })
             && write.stamp! > node.copyFloors.floor(for: nodeKey(sender))) {
            log("n\(n) refuses copy from n\(sender): not the source in its map v\(node.viewVersion)")
            return answer(n, replyTo, .refused("SERVER_ERROR copy from n\(sender) refused"))
        }
        let (reply, version) = executeOnStore(node.store, write)
        log("n\(n) executes \(World.describe(write)) -> \(reply)\(version == 0 ? "" : " v\(version)")")
        let executedAt = now
        let partition = routing.masterOf
        let mapVersion = node.viewVersion
        guard version != 0, routing.mayReplicate, write.path.filter({ $0 == n }).count < 2 else {
            return finish(n, replyTo, reply, opID: write.opID, partition: partition, executedAt: executedAt, mapVersion: mapVersion)
        }
        // Replication.appendReplica: the item as stored now, or a tombstone of this write's version.
        var copy = WireWrite(op: .delete(key: key), version: version, sync: false, path: write.path + [n], opID: nil,
                             stamp: mapVersion)
        if case .delete = write.op {} else if let item = readItem(node.store, key: key) {
            copy = WireWrite(op: .set(key: key, value: String(decoding: item.value, as: UTF8.self)), flags: item.flags,
                             version: item.version, sync: false, path: write.path + [n], opID: nil, stamp: mapVersion)
        }
        let waits = write.sync && design.syncWaitsForSlaves
        let token = freshID()
        var outstanding = 0
        var failed: [Int] = []
        for target in withKey(key, { routing.replicaTargets(for: $0) }) {
            guard let dest = self.node(forKey: target.node.nodeKey) else { continue }
            let waited = waits && target.waitFor
            guard node.streams[dest] != nil else {
                if waited { failed.append(dest) }
                continue
            }
            if waited { outstanding += 1 }
            _ = node.streams[dest]!.queue.append(.write(copy), bytes: StreamOp.write(copy).bytes, waiter: waited ? token : nil,
                                                 deadline: now + timing.confirmTimeout)
            sendQueued(n, to: dest)
        }
        guard waits else { return finish(n, replyTo, reply, opID: write.opID, partition: partition, executedAt: executedAt, mapVersion: mapVersion) }
        if outstanding == 0 {
            return finish(n, replyTo, failed.isEmpty ? reply : .uncertain("SERVER_ERROR replication failed"),
                          opID: write.opID, partition: partition, executedAt: executedAt, mapVersion: mapVersion)
        }
        node.pending[token] = SimNode.PendingWrite(replyTo: replyTo, reply: reply, outstanding: outstanding, failed: failed,
                                                   opID: write.opID, partition: partition, executedAt: executedAt, mapVersion: mapVersion)
    }

    /// The store command (DataCommands.swift); returns the reply and the version it gave the item
    /// or the tombstone (0: nothing changed).
    private func executeOnStore(_ store: ItemStore, _ write: WireWrite) -> (ClientReply, UInt64) {
        let version = write.version
        switch write.op {
        case .set(let key, let value):
            let outcome = withKey(key) { raw in
                Array(value.utf8).withUnsafeBytes { data in
                    try? store.store(.set, key: raw, flags: write.flags, expire: 0, value: data, version: version, now: 0)
                }
            }
            if case .stored(let v)? = outcome { return (.stored, v) }
            return (.noEffect("NOT_STORED"), 0)
        case .cas(let key, let value, let unique):
            switch storeCommand(store, .cas, key: key, value: Array(value.utf8), unique: unique) {
            case .stored(let v)?: return (.stored, v)
            case .exists?: return (.noEffect("EXISTS"), 0)
            default: return (.noEffect("NOT_FOUND"), 0)
            }
        case .append(let key, let token):
            guard case .stored(let v)? = storeCommand(store, .append, key: key, value: Array(token.utf8), unique: 0) else {
                return (.noEffect("NOT_STORED"), 0)
            }
            return (.stored, v)
        case .incr(let key, let delta):
            let outcome = withKey(key) { try? store.arithmetic($0, delta: delta, increment: true, now: 0) }
            guard case .value(let value, let v)? = outcome else { return (.noEffect("NOT_FOUND"), 0) }
            return (.counter(value), v)
        case .delete(let key):
            let outcome = withKey(key) { try? store.delete($0, version: version, now: 0) }
            guard case .deleted(let v)? = outcome else { return (.noEffect("NOT_FOUND"), 0) }
            return (.deleted, v)
        case .gets:
            return (.miss, 0)
        }
    }

    /// The modelled resync: the promoted master's items replace the slave's.
    private func applySnapshot(_ n: Int, from: Int, _ items: [SnapshotItem]) -> ClientReply {
        let node = nodes[n]
        guard batch(n) != .refuseData, let routing = node.routing else { return .refused("SERVER_ERROR fenced") }
        if design.senderCheck && !withKey(keys[0], { routing.acceptsReplica(of: $0, from: nodeKey(from)) }) {
            return .refused("SERVER_ERROR copy refused")
        }
        try? node.store.flushAll()
        for item in items { _ = storeSet(node.store, key: item.key, value: item.value, flags: item.flags, version: item.version) }
        return .stored
    }

    /// The reply of a write executed here as master: recorded as acknowledged if it is a client
    /// operation's success.
    private func finish(_ n: Int, _ replyTo: SimNode.ReplyTo, _ reply: ClientReply, opID: Int?, partition: Int, executedAt: Int64, mapVersion: UInt64) {
        if let opID, partition >= 0 {
            switch reply {
            case .stored, .deleted, .counter:
                acks.append(AckRecord(time: executedAt, node: n, partition: partition, opID: opID, mapVersion: mapVersion))
            default:
                break
            }
        }
        answer(n, replyTo, reply)
    }

    func answer(_ n: Int, _ replyTo: SimNode.ReplyTo, _ reply: ClientReply) {
        switch replyTo {
        case .client(let client, let opID): send(n, clientBase + client, .reply(opID: opID, reply))
        case .forwarded(let origin, let id): send(n, origin, .forwardReply(id: id, reply))
        case .stream(let origin, let conn, let position): send(n, origin, .replicateReply(conn: conn, position: position, reply))
        }
    }

    /// One copy a sync write waited for was answered (ReplicaGather).
    private func answered(_ n: Int, token: UInt64, from dest: Int, ok: Bool) {
        let node = nodes[n]
        guard var write = node.pending[token] else { return }
        if !ok { write.failed.append(dest) }
        write.outstanding -= 1
        guard write.outstanding == 0 else {
            node.pending[token] = write
            return
        }
        node.pending[token] = nil
        finish(n, write.replyTo, write.failed.isEmpty ? write.reply : .uncertain("SERVER_ERROR replication failed"),
               opID: write.opID, partition: write.partition, executedAt: write.executedAt, mapVersion: write.mapVersion)
    }

    // MARK: Replication streams (ReplicationStream.swift)

    private func openStream(_ n: Int, to dest: Int) {
        nodes[n].streams[dest]!.reconnectAt = 0
        nodes[n].streams[dest]!.conn = freshID()
        nodes[n].streams[dest]!.epoch = linkEpoch(n, dest)
        log("n\(n) opens stream c\(nodes[n].streams[dest]!.conn) to n\(dest) with \(nodes[n].streams[dest]!.queue.unsentCount) to send")
        sendQueued(n, to: dest)
    }

    private func sendQueued(_ n: Int, to dest: Int) {
        guard var stream = nodes[n].streams[dest], stream.conn != 0 else { return }
        guard stream.epoch == linkEpoch(n, dest) else { return streamFailed(n, dest, "connection reset") }
        let unsent = stream.queue.takeUnsent()
        if !unsent.isEmpty && stream.oldestInFlightSince == 0 { stream.oldestInFlightSince = now }
        nodes[n].streams[dest] = stream
        for entry in unsent { send(n, dest, .replicate(conn: stream.conn, position: entry.position, entry.operation)) }
    }

    /// The connection failed (a refusal, a silent destination): everything unconfirmed is offered
    /// again on a new connection after a growing pause.
    private func streamFailed(_ n: Int, _ dest: Int, _ reason: String) {
        guard var stream = nodes[n].streams[dest] else { return }
        log("n\(n) stream to n\(dest) failed: \(reason); resends \(stream.queue.unconfirmedCount)")
        breakLink(n, dest)
        stream.conn = 0
        stream.queue.rewind()
        stream.oldestInFlightSince = 0
        stream.backoff = min(max(stream.backoff * 2, 50), 1000)
        stream.reconnectAt = now + stream.backoff
        nodes[n].streams[dest] = stream
    }

    private func streamReply(_ n: Int, from dest: Int, conn: UInt64, position: UInt64, _ reply: ClientReply) {
        guard var stream = nodes[n].streams[dest], stream.conn == conn, conn != 0 else { return }
        guard stream.epoch == linkEpoch(n, dest) else { return streamFailed(n, dest, "connection reset") }
        guard stream.queue.inFlightCount > 0 else { return streamFailed(n, dest, "unexpected reply") }
        // ReplicaReply.confirms: STORED, DELETED, NOT_STORED, NOT_FOUND.
        let confirms: Bool
        switch reply {
        case .stored, .deleted, .counter: confirms = true
        case .noEffect(let text): confirms = text == "NOT_STORED" || text == "NOT_FOUND"
        default: confirms = false
        }
        guard confirms else { return streamFailed(n, dest, "refused: \(reply)") }
        let released = stream.queue.confirmOldest()
        stream.oldestInFlightSince = stream.queue.inFlightCount > 0 ? now : 0
        stream.backoff = 0
        nodes[n].streams[dest] = stream
        for token in released { answered(n, token: token, from: dest, ok: true) }
    }

    private func streamTick(_ n: Int, _ dest: Int) {
        guard var stream = nodes[n].streams[dest] else { return }
        let expired = stream.queue.expireWaiters(now: now)
        nodes[n].streams[dest] = stream
        for token in expired { answered(n, token: token, from: dest, ok: false) }
        guard var stream = nodes[n].streams[dest] else { return }
        if stream.conn != 0, stream.epoch != linkEpoch(n, dest) { return streamFailed(n, dest, "connection reset") }
        if stream.conn != 0, stream.queue.inFlightCount > 0, stream.oldestInFlightSince > 0,
           now - stream.oldestInFlightSince > timing.confirmTimeout {
            return streamFailed(n, dest, "no confirmation within \(timing.confirmTimeout) ms")
        }
        if stream.conn == 0, stream.reconnectAt > 0, now >= stream.reconnectAt {
            stream.reconnectAt = 0
            nodes[n].streams[dest] = stream
            openStream(n, to: dest)
        }
    }
}

// MARK: Store access with String keys

struct StoredItem: Equatable {
    let value: [UInt8]
    let flags: UInt32
    let version: UInt64
}

func withKey<R>(_ key: String, _ body: (UnsafeRawBufferPointer) -> R) -> R {
    let bytes = Array(key.utf8)
    return bytes.withUnsafeBytes { body($0) }
}

func readItem(_ store: ItemStore, key: String) -> StoredItem? {
    withKey(key) { raw in
        (try? store.get(raw, now: 0) { header, value in StoredItem(value: Array(value), flags: header.flags, version: header.version) }) ?? nil
    }
}

func storeCommand(_ store: ItemStore, _ command: StoreCommand, key: String, value: [UInt8], unique: UInt64) -> StoreOutcome? {
    withKey(key) { raw in
        value.withUnsafeBytes { data in try? store.store(command, key: raw, flags: 0, expire: 0, value: data, casUnique: unique, now: 0) }
    }
}

func storeSet(_ store: ItemStore, key: String, value: [UInt8], flags: UInt32, version: UInt64) -> StoreOutcome? {
    withKey(key) { raw in
        value.withUnsafeBytes { data in try? store.store(.set, key: raw, flags: flags, expire: 0, value: data, version: version, now: 0) }
    }
}
