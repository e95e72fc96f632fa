import FlareCluster
import FlareStorage

/// The node shell, modelled: what flared does around its store with client requests, replicated
/// writes and maps. It mirrors Sources/FlareNode — Replication.swift (a write executed by the
/// master is copied as the resulting item to every slave; a sync write is answered once every
/// active slave confirmed), ClusterView.swift (`routeWrite`: writes go to the master of the key's
/// partition, others forward; `routeProxiedWrite`: a forwarded write runs only on that master;
/// `replicaTargets`: the master's slaves that are not down, waited for when active) — plus the
/// design under test (SimDesign): lease, sender check, resync on promotion, fetch when behind.
///
/// Everything that runs is real: `ItemStore` over the memory engine executes every command and
/// every replicated write, `ReplicationQueue` keeps each master→slave stream, `PartitionLayout`
/// and `KeyResolver` route. The store is the node's disk: a crash keeps it.
final class SimNode {
    let id: Int
    var store: ItemStore
    var up = true
    var incarnation: UInt64 = 0
    var stalledUntil: Int64?
    /// Events that reached the node while it was stalled, handled in order when it resumes.
    var deferred: [SimEvent] = []

    // Process memory, lost on a crash.
    var map: NodeMap?
    /// The map's partition tables, derived once per map as ClusterView does.
    var layout: PartitionLayout?
    var mapVersion: UInt64 = 0
    /// A restarted process serves nothing until the index answered it.
    var awaitingIndex = false
    var leaseUntil: Int64 = 0
    var streams: [Int: Stream] = [:]
    var pendingWrites: [Int: PendingWrite] = [:]
    var forwards: [UInt64: PendingForward] = [:]
    var lastRestartedSent: Int64 = 0

    struct Stream {
        let id: UInt64
        var queue: ReplicationQueue<ReplOp, Int>
        var lastProgress: Int64
    }

    enum ReplyTo {
        case client(Int)
        case forwarded(node: Int, forwardID: UInt64)
    }

    struct PendingWrite {
        let replyTo: ReplyTo
        let reply: ClientReply
        var outstanding: Int
        let partition: Int
    }

    struct PendingForward {
        let client: Int
        let opID: Int
        let deadline: Int64
    }

    init(id: Int) {
        self.id = id
        store = SimNode.makeStore()
    }

    static func makeStore() -> ItemStore {
        try! ItemStore.open(StorageOptions(type: "memory", dataDir: "/nonexistent", deleteHoldCapacity: 1024))
    }

    func forgetProcessMemory() {
        map = nil
        layout = nil
        mapVersion = 0
        leaseUntil = 0
        streams = [:]
        pendingWrites = [:]
        forwards = [:]
        deferred = []
        stalledUntil = nil
    }
}

extension World {
    // MARK: Process life

    func crashNode(_ n: Int) {
        nodes[n].up = false
        nodes[n].incarnation += 1
        nodes[n].forgetProcessMemory()
    }

    func restartNode(_ n: Int) {
        let node = nodes[n]
        node.up = true
        node.incarnation += 1
        node.forgetProcessMemory()
        node.awaitingIndex = true
        node.lastRestartedSent = now
        send(n, indexEndpoint, .restarted)
        queue.push(now + timing.nodeTick, .nodeTick(node: n, incarnation: node.incarnation))
    }

    func resumeNode(_ n: Int) {
        let node = nodes[n]
        node.stalledUntil = nil
        let backlog = node.deferred
        node.deferred = []
        for event in backlog { nodeEvent(n, event) }
    }

    /// Start-up data, written identically to a replica's store.
    func nodeSeed(_ n: Int, key: String, value: String, version: UInt64) {
        _ = storeSet(nodes[n].store, key: key, value: Array(value.utf8), flags: 0, version: version)
    }

    // MARK: Events

    func nodeEvent(_ n: Int, _ event: SimEvent) {
        let node = nodes[n]
        guard node.up else { return }
        if node.stalledUntil != nil {
            node.deferred.append(event)
            return
        }
        switch event {
        case .deliver(let from, _, _, let message):
            nodeReceive(n, from: from, message)
        case .nodeTick(_, let inc):
            guard inc == node.incarnation else { return }
            nodeTick(n)
            queue.push(now + timing.nodeTick, .nodeTick(node: n, incarnation: node.incarnation))
        default:
            break
        }
    }

    private func nodeReceive(_ n: Int, from: Endpoint, _ message: Message) {
        let node = nodes[n]
        switch message {
        case .ping(let id, let sentAt, let grant, let version):
            if grant { node.leaseUntil = max(node.leaseUntil, sentAt + timing.lease) }
            if design.pingCarriesVersion && version > node.mapVersion && !node.awaitingIndex {
                send(n, indexEndpoint, .fetchMap)
            }
            send(n, indexEndpoint, .pong(id: id))
        case .push(let version, let map):
            if node.awaitingIndex || version >= node.mapVersion {
                node.awaitingIndex = false
                nodeApplyMap(n, version: version, map: map)
            }
            send(n, indexEndpoint, .pushAck(version: version))
        case .request(let request):
            handleRequest(n, request, replyTo: .client(request.client), forwarded: false)
        case .forward(let forwardID, let request):
            handleRequest(n, request, replyTo: .forwarded(node: from, forwardID: forwardID), forwarded: true)
        case .forwardReply(let forwardID, let reply):
            guard let pending = node.forwards.removeValue(forKey: forwardID) else { return }
            send(n, clientBase + pending.client, .reply(opID: pending.opID, reply))
        case .replicate(let stream, let position, let op):
            let ok = applyReplicated(n, from: from, op)
            send(n, from, .replicateAck(stream: stream, position: position, ok: ok))
        case .replicateAck(let streamID, let position, let ok):
            replicationAck(n, from: from, streamID: streamID, position: position, ok: ok)
        default:
            break
        }
    }

    // MARK: Maps

    /// The master of the key's partition in this map (ClusterView.routeWrite).
    func masterKey(in layout: PartitionLayout?, key: String) -> String? {
        guard let layout, layout.activeCount > 0 else { return nil }
        return layout.master(of: resolver.partition(of: key, count: layout.activeCount))?.nodeKey
    }

    /// Partition this node is the active master of, or nil.
    func masterPartition(_ n: Int) -> Int? {
        guard let me = nodes[n].map?[nodeKey: nodeKey(n)], me.role == .master, me.state == .active else { return nil }
        return me.partition
    }

    /// The slaves a master copies to, and whether a sync write waits for each (replicaTargets).
    func replicaTargets(_ n: Int) -> [(node: Int, waitFor: Bool)] {
        guard let partition = masterPartition(n), let map = nodes[n].map,
              let layout = nodes[n].layout, let entry = layout.partition(partition) else { return [] }
        return entry.slaves.compactMap { member in
            guard let slave = node(forKey: member.nodeKey), let state = map[nodeKey: member.nodeKey]?.state else { return nil }
            return (slave, state == .active)
        }
    }

    func nodeApplyMap(_ n: Int, version: UInt64, map: NodeMap) {
        let node = nodes[n]
        let wasMaster = masterPartition(n) != nil
        node.map = map
        node.layout = try? map.partitionLayout()
        node.mapVersion = version
        log("n\(n) map v\(version) [\(World.brief(map))]")
        guard masterPartition(n) != nil else {
            if wasMaster {
                // No longer master: nothing it still holds can be acknowledged.
                for (opID, write) in node.pendingWrites.sorted(by: { $0.key < $1.key }) {
                    node.pendingWrites[opID] = nil
                    answer(n, write.replyTo, opID: opID, .uncertain("no longer master"))
                }
                node.streams = [:]
            }
            return
        }
        let targets = replicaTargets(n)
        for dest in node.streams.keys.sorted() where !targets.contains(where: { $0.node == dest }) {
            // A slave the index took down no longer has to confirm: it can only come back as a proxy.
            var stream = node.streams.removeValue(forKey: dest)!
            for opID in stream.queue.drainWaiters() { confirmed(n, opID: opID) }
        }
        var snapshot: ReplOp?
        if !wasMaster && design.resyncOnPromotion { snapshot = .snapshot(snapshotItems(n)) }
        for target in targets where node.streams[target.node] == nil {
            var stream = SimNode.Stream(id: freshID(), queue: ReplicationQueue(byteLimit: 1 << 20), lastProgress: now)
            if let snapshot { _ = stream.queue.append(snapshot, bytes: snapshot.bytes) }
            node.streams[target.node] = stream
            sendUnsent(n, to: target.node)
        }
    }

    func snapshotItems(_ n: Int) -> [SnapshotItem] {
        keys.compactMap { key in readItem(nodes[n].store, key: key).map { SnapshotItem(key: key, value: $0.value, flags: $0.flags, version: $0.version) } }
    }

    // MARK: Client writes

    private func handleRequest(_ n: Int, _ request: ClientRequest, replyTo: SimNode.ReplyTo, forwarded: Bool) {
        let node = nodes[n]
        guard let map = node.map, !node.awaitingIndex else {
            return answer(n, replyTo, opID: request.opID, .refused("no map from the index yet"))
        }
        guard let master = masterKey(in: node.layout, key: request.op.key) else {
            return answer(n, replyTo, opID: request.opID, .refused("partition has no master"))
        }
        if master == nodeKey(n) {
            return execute(n, request, replyTo: replyTo)
        }
        // A forwarded request runs only on the master (routeProxiedWrite): no second hop.
        guard !forwarded, let target = self.node(forKey: master) else {
            return answer(n, replyTo, opID: request.opID, .refused("not master"))
        }
        let forwardID = freshID()
        node.forwards[forwardID] = SimNode.PendingForward(client: request.client, opID: request.opID, deadline: now + timing.forwardTimeout)
        send(n, target, .forward(forwardID: forwardID, request))
    }

    private func execute(_ n: Int, _ request: ClientRequest, replyTo: SimNode.ReplyTo) {
        let node = nodes[n]
        guard let partition = masterPartition(n) else { return answer(n, replyTo, opID: request.opID, .refused("not master")) }
        if design.lease && now >= node.leaseUntil {
            return answer(n, replyTo, opID: request.opID, .refused("no lease"))
        }
        let (reply, replicated) = executeOnStore(node.store, request.op)
        guard let replicated else { return answer(n, replyTo, opID: request.opID, reply) }
        var waits = 0
        for target in replicaTargets(n) {
            guard var stream = node.streams[target.node] else { continue }
            let wait = request.sync && target.waitFor && design.syncWaitsForSlaves
            if wait { waits += 1 }
            _ = stream.queue.append(replicated, bytes: replicated.bytes, waiter: wait ? request.opID : nil,
                                    deadline: now + timing.syncTimeout)
            node.streams[target.node] = stream
            sendUnsent(n, to: target.node)
        }
        if waits == 0 {
            acknowledge(n, replyTo, opID: request.opID, reply, partition: partition)
        } else {
            node.pendingWrites[request.opID] = SimNode.PendingWrite(replyTo: replyTo, reply: reply, outstanding: waits, partition: partition)
        }
    }

    /// Runs a client command on the master's store; returns the reply and what to replicate.
    private func executeOnStore(_ store: ItemStore, _ op: ClientOp) -> (ClientReply, ReplOp?) {
        let now = Int64(0)   // items never expire here: expiry is not what this simulation explores
        func replicateItem(_ key: String) -> ReplOp? {
            readItem(store, key: key).map { .set(key: key, value: $0.value, flags: $0.flags, version: $0.version) }
        }
        switch op {
        case .set(let key, let value):
            _ = storeCommand(store, .set, key: key, value: Array(value.utf8), unique: 0)
            return (.stored, replicateItem(key))
        case .cas(let key, let value, let unique):
            switch storeCommand(store, .cas, key: key, value: Array(value.utf8), unique: unique) {
            case .stored: return (.stored, replicateItem(key))
            case .exists: return (.noEffect("EXISTS"), nil)
            default: return (.noEffect("NOT_FOUND"), nil)
            }
        case .append(let key, let token):
            guard case .stored = storeCommand(store, .append, key: key, value: Array(token.utf8), unique: 0) else {
                return (.noEffect("NOT_STORED"), nil)
            }
            return (.stored, replicateItem(key))
        case .incr(let key, let delta):
            let outcome = withKey(key) { try? store.arithmetic($0, delta: delta, increment: true, now: now) }
            guard case .value(let value) = outcome else { return (.noEffect("NOT_FOUND"), nil) }
            return (.counter(value), replicateItem(key))
        case .delete(let key):
            // The tombstone carries the deleted item's version (what ItemStore remembers).
            guard let item = readItem(store, key: key) else { return (.noEffect("NOT_FOUND"), nil) }
            _ = withKey(key) { try? store.delete($0, now: now) }
            return (.deleted, .delete(key: key, version: item.version))
        case .gets(let key):
            guard let item = readItem(store, key: key) else { return (.miss, nil) }
            return (.found(value: String(decoding: item.value, as: UTF8.self), unique: item.version), nil)
        }
    }

    private func acknowledge(_ n: Int, _ replyTo: SimNode.ReplyTo, opID: Int, _ reply: ClientReply, partition: Int) {
        if design.lease && now >= nodes[n].leaseUntil {
            return answer(n, replyTo, opID: opID, .uncertain("lease ran out before the slaves confirmed"))
        }
        if case .noEffect = reply {} else {
            acks.append(AckRecord(time: now, node: n, partition: partition, opID: opID))
        }
        answer(n, replyTo, opID: opID, reply)
    }

    private func answer(_ n: Int, _ replyTo: SimNode.ReplyTo, opID: Int, _ reply: ClientReply) {
        switch replyTo {
        case .client(let client): send(n, clientBase + client, .reply(opID: opID, reply))
        case .forwarded(let origin, let forwardID): send(n, origin, .forwardReply(forwardID: forwardID, reply))
        }
    }

    /// One waiter of a sync write was released (confirmed, or its slave left the partition).
    private func confirmed(_ n: Int, opID: Int) {
        let node = nodes[n]
        guard var write = node.pendingWrites[opID] else { return }
        write.outstanding -= 1
        if write.outstanding > 0 {
            node.pendingWrites[opID] = write
            return
        }
        node.pendingWrites[opID] = nil
        acknowledge(n, write.replyTo, opID: opID, write.reply, partition: write.partition)
    }

    // MARK: Replication streams

    private func sendUnsent(_ n: Int, to dest: Int) {
        guard var stream = nodes[n].streams[dest] else { return }
        let batch = stream.queue.takeUnsent()
        nodes[n].streams[dest] = stream
        for entry in batch { send(n, dest, .replicate(stream: stream.id, position: entry.position, op: entry.operation)) }
    }

    private func replicationAck(_ n: Int, from: Int, streamID: UInt64, position: UInt64, ok: Bool) {
        let node = nodes[n]
        guard var stream = node.streams[from], stream.id == streamID else { return }
        guard ok else {
            // Refused: reconnect and send everything unconfirmed again later.
            stream.queue.rewind()
            node.streams[from] = stream
            breakLink(n, from)
            return
        }
        guard stream.queue.inFlightCount > 0, position == stream.queue.confirmed + 1 else { return }
        let released = stream.queue.confirmOldest()
        stream.lastProgress = now
        node.streams[from] = stream
        for opID in released { confirmed(n, opID: opID) }
    }

    /// A slave applies a replicated item with its version, or refuses it.
    private func applyReplicated(_ n: Int, from: Int, _ op: ReplOp) -> Bool {
        let node = nodes[n]
        guard let map = node.map, !node.awaitingIndex,
              let me = map[nodeKey: nodeKey(n)], me.role == .slave, me.state != .down else { return false }
        if design.senderCheck {
            let key: String
            switch op {
            case .set(let k, _, _, _), .delete(let k, _): key = k
            case .snapshot: key = keys[0]
            }
            guard masterKey(in: node.layout, key: key) == nodeKey(from) else {
                log("n\(n) refuses replication from n\(from): not the master in its map")
                return false
            }
        }
        switch op {
        case .set(let key, let value, let flags, let version):
            _ = storeSet(node.store, key: key, value: value, flags: flags, version: version)
        case .delete(let key, let version):
            _ = withKey(key) { try? node.store.delete($0, version: version, now: 0) }
        case .snapshot(let items):
            try? node.store.flushAll()
            for item in items { _ = storeSet(node.store, key: item.key, value: item.value, flags: item.flags, version: item.version) }
        }
        return true
    }

    // MARK: Timers

    private func nodeTick(_ n: Int) {
        let node = nodes[n]
        if node.awaitingIndex && now - node.lastRestartedSent >= 500 {
            node.lastRestartedSent = now
            send(n, indexEndpoint, .restarted)
        }
        for id in node.forwards.keys.sorted() where node.forwards[id]!.deadline <= now {
            let pending = node.forwards.removeValue(forKey: id)!
            send(n, clientBase + pending.client, .reply(opID: pending.opID, .uncertain("master did not answer")))
        }
        for dest in node.streams.keys.sorted() {
            guard var stream = node.streams[dest] else { continue }
            let expired = stream.queue.expireWaiters(now: now)
            if stream.queue.inFlightCount > 0 && now - stream.lastProgress >= timing.resendAfter {
                stream.queue.rewind()
                stream.lastProgress = now
                breakLink(n, dest)
                log("n\(n) resends \(stream.queue.unconfirmedCount) unconfirmed to n\(dest)")
            }
            node.streams[dest] = stream
            sendUnsent(n, to: dest)
            for opID in expired {
                guard let write = node.pendingWrites.removeValue(forKey: opID) else { continue }
                answer(n, write.replyTo, opID: opID, .uncertain("replication to n\(dest) timed out"))
            }
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
