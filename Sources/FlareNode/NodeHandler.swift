import FlareConfig
import FlareCluster
import FlareNet
import FlareProtocol
import FlareStorage

/// Executes memcached and flare requests for the connections of one worker thread.
///
/// One instance per worker, called only on that worker's thread; its counters are that worker's.
public final class NodeHandler: ConnectionHandler {
    let context: NodeContext
    let store: ItemStore
    let parser: RequestParser
    let counters: ThreadCounters
    let clock: ServerClock
    /// The cluster as this worker routes by; replaced on this worker's thread when the map changes.
    var view: ClusterView {
        didSet {
            guard view !== oldValue else { return }
            context.installedVersions[worker.index % context.installedVersions.count].store(view.version, ordering: .releasing)
            streams = Array(context.replication.streams(for: view, on: worker).values)
            context.backlog.follow(partition: view.masterOf, mapVersion: view.version, standalone: view.standalone) { [store] in
                store.versions.current
            }
            recordsBacklog = context.backlog.enabled && view.masterOf >= 0 && !view.standalone
            // On a later loop turn: failing a link answers waiting clients, which must not run
            // inside whatever request handling installed the map.
            if peerPoolOpened { worker.later { [self, view] in peerPool.dropLinks(toNodesNotServingIn: view) } }
        }
    }
    /// The replication streams to this view's replica targets (shared with the other workers).
    /// A few at most: found by a scan, which costs less per copy than hashing the node key.
    var streams: [ReplicationStream] = []
    /// Whether writes executed here go to the replication backlog (an active master of the map).
    var recordsBacklog = false
    /// Draws the reader of a partition for reads this node forwards.
    var readerRandom: ReaderRandom
    /// Sync writes waiting for their copies to be confirmed, by token.
    var pendingReplicas: [UInt64: ReplicaGather] = [:]
    var nextReplicaToken: UInt64 = 1
    /// What the control plane allows for this batch of requests: data requests are refused before
    /// the index confirmed this node's map (after a suspension, or a restart of a cluster member),
    /// and acting as master is refused while an active master with slaves holds no lease.
    var serving: StallGuard.Batch = .serve
    /// The absolute expiry of the last item `storeItem` wrote, for its copy.
    var lastStoredExpire: Int64 = 0
    /// The last copy sender seen, so accepting the copies of one master allocates nothing.
    var lastCopySender = CopySender()
    /// Scratch space for composing a replica write once before copying it to each target.
    let replicaScratch = ReplyBuffer(capacity: 4096)
    /// The text reply of a binary request run through the text paths, before it is translated.
    let binaryScratch = ReplyBuffer(capacity: 1024)
    /// Connections to other nodes for forwarding, opened on first use.
    lazy var peerPool: PeerPool = {
        peerPoolOpened = true
        return PeerPool(worker: worker, concurrency: context.proxyConcurrency, registry: context.peerLinks, relay: self)
    }()
    private var peerPoolOpened = false
    /// Where a meta command's base64 key is decoded.
    lazy var metaKeys = MetaKeyBuffer(capacity: context.limits.maxKeyLength)
    unowned let worker: Worker
    /// This worker's record of the items it read (`mg … h l`).
    let reads: AccessTable

    public init(context: NodeContext, worker: Worker) {
        self.context = context
        self.store = context.store
        var parser = RequestParser(limits: context.limits)
        parser.refusesBinary = false  // binary connections are told apart by their first byte (processBinary)
        self.parser = parser
        self.counters = context.counters[worker.index % context.counters.count]
        self.clock = worker.server.clock
        self.view = context.membership.current
        self.worker = worker
        reads = context.accesses.table(forWorker: worker.index)
        var seed = SystemRandomNumberGenerator()
        readerRandom = ReaderRandom(seed: seed.next())
        streams = Array(context.replication.streams(for: view, on: worker).values)
        context.installedVersions[worker.index % context.installedVersions.count].store(view.version, ordering: .releasing)
        // The streams this worker is home to: deadlines, silent destinations, reconnects.
        worker.every(seconds: 0.1) { [context, worker] in
            let now = ServerClock.monotonicMilliseconds()
            for stream in context.replication.all where stream.home === worker { stream.tick(now: now) }
        }
    }

    public func process(_ connection: Connection, input: UnsafeRawBufferPointer) -> ProcessOutcome {
        var offset = 0
        let output = connection.output
        defer { connection.activity.store(0, ordering: .relaxed) }
        if connection.wireProtocol != .text {
            if connection.wireProtocol == .undecided, let first = input.first {
                connection.wireProtocol = first == BinaryProtocol.requestMagic ? .binary : .text
            }
            if connection.wireProtocol == .binary { return processBinary(connection, input: input) }
        }
        serving = context.stallGuard.check(version: view.version)
        // What an earlier call scanned of the line the input starts with.
        let scanned = connection.scannedWithoutNewline
        connection.scannedWithoutNewline = 0
        while offset < input.count {
            let rest = UnsafeRawBufferPointer(rebasing: input[offset...])
            switch parser.parse(rest, scannedWithoutNewline: offset == 0 ? scanned : 0) {
            case .request(let request, let consumed):
                connection.activity.store(request.command.rawValue &+ 1, ordering: .relaxed)
                if request.command == .node {
                    // `node sync` carries NODE lines up to END: wait until all of them are here.
                    let body = UnsafeRawBufferPointer(rebasing: rest[consumed...])
                    guard let bodyLength = nodeCommand(request, body: body, from: connection.peer, output) else {
                        return ProcessOutcome(consumed: offset)
                    }
                    offset += consumed + bodyLength
                    serving = context.stallGuard.check(version: view.version)
                    continue
                }
                offset += consumed
                switch execute(request, on: connection) {
                case .next: break
                case .close: return ProcessOutcome(consumed: offset, close: true)
                case .streaming, .awaiting: return ProcessOutcome(consumed: offset)
                }
            case .needMore(let atLeast):
                // No line end in what is buffered: the next call starts scanning after it.
                if atLeast == 0 { connection.scannedWithoutNewline = rest.count }
                return ProcessOutcome(consumed: offset, needAtLeast: atLeast)
            case .tooLarge(let key, let consumed, let swallow, let silent):
                // memcached drops the old value of a key whose new value was refused.
                if view.routeWrite(key) == .local { _ = try? store.delete(key, now: clock.now) }
                if !silent { output.append(ProtocolError.objectTooLarge.reply) }
                offset += consumed
                if let rest = skip(swallow, at: &offset, in: input) { return rest }
            case .invalid(let error, let consumed, let swallow, let silent, let close):
                if !silent { output.append(error.reply) }
                offset += consumed
                if close { return ProcessOutcome(consumed: offset, close: true) }
                if let rest = skip(swallow, at: &offset, in: input) { return rest }
            }
            if output.pendingCount >= 1 << 20 { break }  // let the socket drain before going on
        }
        return ProcessOutcome(consumed: offset)
    }

    /// Drops a refused data block: what is already buffered now, the rest as it arrives (the
    /// returned outcome tells the connection how much more to discard).
    private func skip(_ swallow: Int, at offset: inout Int, in input: UnsafeRawBufferPointer) -> ProcessOutcome? {
        let now = min(swallow, input.count - offset)
        offset += now
        return swallow > now ? ProcessOutcome(consumed: offset, swallow: swallow - now) : nil
    }

    enum Next { case next, close, streaming, awaiting }

    private func execute(_ request: Request, on connection: Connection) -> Next {
        let output = connection.output
        if serving != .serve && request.command.isDataCommand && refused(request, output) { return .next }
        switch request.command {
        case .get, .gets, .gat, .gats:
            switch planRetrieval(request) {
            case .local: break
            case .relay(let owner): return relayRetrieval(request, to: owner, connection)
            case .gather: return retrieveAcrossNodes(request, connection)
            }
            if request.command == .get || request.command == .gets {
                retrieve(request, output)
            } else {
                getAndTouch(request, output)
            }
        case .set, .add, .replace, .append, .prepend, .cas, .delete, .incr, .decr, .touch:
            // A copy names its master last, stamped: it is applied here only if that master is the
            // source of this key's copies in this node's map, in its present era — whatever role
            // this node has (a new master must refuse its demoted predecessor's late copies).
            // Anything else, forwarded by a proxy or not, is a write to execute as the key's master.
            let hop = request.proxyPath.isEmpty ? nil : ProxyPath.lastHop(request.proxyPath)
            let isCopy = hop?.stamp != nil
            if let hop, let stamp = hop.stamp {
                guard acceptsCopy(request, sender: hop.node, stamp: stamp, output) else { break }
            } else {
                let owner = view.writeOwner(request.key)
                if case .forward(let peer) = owner { return forwardWrite(request, to: peer, connection) }
                guard routedLocally(owner.route, request, output) else { break }
            }
            let mark = output.pendingCount
            // The version the write gave the item (or its tombstone); 0 when nothing changed.
            let version: UInt64
            switch request.command {
            case .delete: version = delete(request, output)
            case .incr, .decr: version = arithmetic(request, output)
            case .touch: version = touch(request, output)
            default: version = storeItem(request, output)
            }
            // Applied or already superseded here: either way the slave holds this version or newer.
            if isCopy && request.version != 0 { context.applied.applied(request.version, worker: worker.index) }
            // The backlog records every write this node masters, also while no slave is listed: a
            // restarted slave is a proxy until it asks to rejoin, and must find those copies.
            if version != 0 && (view.mayReplicate || recordsBacklog) {
                return replicate(request, version: version, replyMark: mark, connection)
            }
        case .flushAll: flushAll(request, output)
        case .quit: return .close
        // memcached answers `version` whatever words follow it.
        case .version: output.append("VERSION flare-\(FlareVersion.string)\r\n")
        case .ping: ping(request, output)
        case .verbosity: if !request.noreply { output.append("OK\r\n") }
        case .stats: stats(request, output)
        case .show: show(request, output)
        case .kill: kill(request, output)
        case .keys: keys(request, output)
        case .dump, .dumpKey: return startDump(request, connection)
        case .backlog: return startBacklogReplay(request, connection)
        case .reclaim: return startReclaim(request, connection)
        case .node:
            output.append("ERROR\r\n")  // handled in `process`; never reached
        case .meta, .shutdown:
            // Index-server commands.
            output.append("ERROR\r\n")
        case .mg, .ms, .md, .ma, .mn, .me:
            return executeMeta(request, on: connection)
        }
        return .next
    }

    func storageError(_ error: StorageError, _ output: ReplyBuffer, noreply: Bool) {
        context.markStorageFailure(error)
        if !noreply { output.append("SERVER_ERROR storage error\r\n") }
    }

    private func ping(_ request: Request, _ output: ReplyBuffer) {
        guard request.arguments.isAtEnd else { output.append("ERROR\r\n"); return }
        if context.storageFailed.load(ordering: .relaxed) {
            output.append("SERVER_ERROR storage error\r\n")
        } else {
            output.append("OK\r\n")
        }
    }
}
