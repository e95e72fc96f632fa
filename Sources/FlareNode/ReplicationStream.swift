#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import FlareCluster
import FlareNet
import FlareProtocol
import Synchronization

/// A `sync` write's claim on one stream position: when the destination confirms it (or the
/// claim fails) the answer is posted to `worker`, whose handler finds the write by `token`.
struct ReplicaWaiter: Sendable {
    let worker: Worker
    let token: UInt64
}

/// The one ordered stream of copies from this master to one destination node, shared by every
/// worker (so two clients' writes of one key can never overtake each other on the way).
///
/// Threads: any worker hands operations over through `inbox` (a short critical section, then at
/// most one posted drain per batch). Everything else — the queue, the connection, timers — belongs
/// to the `home` worker's thread. Answers to waiting writes are posted to their own workers, so a
/// completion always runs on a later loop turn of the thread that owns the client connection.
final class ReplicationStream: OutboundDelegate, TurnEndWork, @unchecked Sendable {
    enum Ending: Sendable {
        /// The destination is no longer a copy of this partition: writes waiting for it are
        /// acknowledged on the strength of the remaining copies.
        case destinationLeft
        /// This node no longer masters the partition: nothing waiting may be acknowledged.
        case noLongerMaster
        /// The destination was the master of a partition being added and is now active: it masters
        /// the keys that moved, so the copies already queued for them are still delivered (until
        /// confirmed, or `handOffMilliseconds`), then the stream closes.
        case handedOff
    }

    static let handOffMilliseconds: Int64 = 10_000

    private struct Handoff: Sendable {
        let bytes: [UInt8]
        let waiter: ReplicaWaiter?
        let deadline: Int64
    }

    private struct Inbox: Sendable {
        var handoffs: [Handoff] = []
        var drainPosted = false
        var ending: Ending?
    }

    let destination: NodeEntry
    var nodeKey: String { destination.nodeKey }
    let home: Worker
    private let inbox = Mutex(Inbox())
    private let settings: ReplicationSettings
    private let overflowed: @Sendable (ReplicationStream) -> Void

    // Home thread only.
    /// An empty array with capacity that `drain` swaps with the inbox's.
    private var spareHandoffs: [Handoff] = []
    /// An empty array with capacity for the waiters one read of confirmations releases.
    private var releasedScratch: [ReplicaWaiter] = []
    private var queue: ReplicationQueue<[UInt8], ReplicaWaiter>
    private var connection: OutboundConnection?
    private var oldestInFlightSince: Int64 = 0
    private var reconnectAt: Int64 = 0
    private var backoff: Int64 = 0
    private var ended: Ending?
    /// Ended by a hand-off, still delivering what was queued before: until this time.
    private var drainingUntil: Int64 = 0
    /// What `stats` shows of this stream.
    let stats: ReplicationStreamStats

    init(destination: NodeEntry, home: Worker, settings: ReplicationSettings,
         overflowed: @escaping @Sendable (ReplicationStream) -> Void) {
        self.destination = destination
        self.home = home
        self.settings = settings
        self.overflowed = overflowed
        queue = ReplicationQueue(byteLimit: settings.backlogBytes)
        stats = ReplicationStreamStats(id: home.server.allocateID(), threadType: destination.threadType, openedAt: home.server.clock.now,
                                       destination: destination.nodeKey, backlogLimit: settings.backlogBytes)
    }

    /// Hands one operation (a complete replica command) to the stream. Any thread; `from` is the
    /// calling worker.
    func send(_ bytes: [UInt8], waiter: ReplicaWaiter?, from: Worker) {
        // Only a waiting write has a deadline: no clock read for the others.
        let deadline = waiter == nil ? 0 : ServerClock.monotonicMilliseconds() + settings.confirmTimeoutMilliseconds
        let post = inbox.withLock { inbox -> Bool? in
            guard inbox.ending == nil else { return nil }
            inbox.handoffs.append(Handoff(bytes: bytes, waiter: waiter, deadline: deadline))
            defer { inbox.drainPosted = true }
            return !inbox.drainPosted
        }
        switch post {
        case nil:
            // Retired between the worker's map and this call: the next map tells the worker.
            if let waiter { Self.answer(waiter, ok: false, from: nodeKey) }
        case true?:
            // From the home worker itself (always so with one worker): at the end of this loop
            // turn, without waking the loop or allocating a task; from another worker, posted.
            if from === home {
                home.atTurnEnd(self)
            } else {
                home.post { [self] in drain() }
            }
        case false?:
            break
        }
    }

    /// Ends the stream (the map no longer copies to this destination, or this node no longer
    /// masters the partition). Any thread.
    func end(_ ending: Ending) {
        inbox.withLock { $0.ending = $0.ending ?? ending }
        home.post { [self] in finish() }
    }

    // MARK: Home thread

    func turnEnded() { drain() }

    private func drain() {
        // The inbox's array and the empty one kept from the last drain change places: neither
        // is reallocated per batch.
        var handoffs = spareHandoffs
        spareHandoffs = []
        inbox.withLock { inbox in
            inbox.drainPosted = false
            swap(&inbox.handoffs, &handoffs)
        }
        defer {
            handoffs.removeAll(keepingCapacity: true)
            spareHandoffs = handoffs
        }
        guard ended == nil || drainingUntil > 0 else {
            Self.answer(handoffs.compactMap(\.waiter), ok: false, from: nodeKey)
            return
        }
        var lost = false
        for handoff in handoffs {
            if case .overflowed = queue.append(handoff.bytes, bytes: handoff.bytes.count, waiter: handoff.waiter, deadline: handoff.deadline) {
                lost = true
                if let waiter = handoff.waiter { Self.answer(waiter, ok: false, from: nodeKey) }
            }
        }
        if lost && stats.markOverflowed() { overflowed(self) }
        sendQueued()
    }

    private func sendQueued() {
        publish()
        guard let connection, !connection.closed else {
            if connection == nil && reconnectAt == 0 { open() }
            return
        }
        let unsent = queue.takeUnsent()
        guard !unsent.isEmpty else { return }
        if oldestInFlightSince == 0 { oldestInFlightSince = ServerClock.monotonicMilliseconds() }
        for entry in unsent { entry.operation.withUnsafeBytes { connection.output.append($0) } }
        connection.flush()
        publish()
    }

    private func open() {
        reconnectAt = 0
        let connection = OutboundConnection(host: destination.name, port: destination.port, worker: home)
        connection.delegate = self
        self.connection = connection
        connection.connect(timeoutMilliseconds: settings.connectTimeoutMilliseconds)
        // Queued before the connect completes, sent by the connection once it does.
        sendQueued()
    }

    /// Every 100 ms on the home thread: failed deadlines, silent destinations, reconnects.
    func tick(now: Int64) {
        guard ended == nil || drainingUntil > 0 else { return }
        if drainingUntil > 0 && (queue.unconfirmedCount == 0 || now >= drainingUntil) {
            if queue.unconfirmedCount > 0 {
                stats.disconnected("hand-off to \(nodeKey) ended with \(queue.unconfirmedCount) copies unconfirmed")
            }
            close()
            return
        }
        Self.answer(queue.expireWaiters(now: now), ok: false, from: nodeKey)
        if let connection, !connection.closed, queue.inFlightCount > 0,
           oldestInFlightSince > 0, now - oldestInFlightSince > settings.confirmTimeoutMilliseconds {
            connection.fail("no confirmation within \(settings.confirmTimeoutMilliseconds) ms")
            return
        }
        if connection == nil, reconnectAt > 0, now >= reconnectAt { open() }
    }

    private func finish() {
        guard ended == nil, let ending = inbox.withLock({ $0.ending }) else { return }
        ended = ending
        // Writes that were still being handed over end like the queued ones.
        let late = inbox.withLock { inbox -> [Handoff] in
            defer { inbox.handoffs.removeAll() }
            return inbox.handoffs
        }
        if ending == .handedOff {
            // Nobody waits for these copies (a partition being added is never waited for), but
            // they must arrive: queue what was handed over and keep sending until confirmed.
            for handoff in late {
                _ = queue.append(handoff.bytes, bytes: handoff.bytes.count)
            }
            Self.answer(queue.drainWaiters() + late.compactMap(\.waiter), ok: true, from: nodeKey)
            drainingUntil = ServerClock.monotonicMilliseconds() + Self.handOffMilliseconds
            sendQueued()
            return
        }
        Self.answer(queue.drainWaiters() + late.compactMap(\.waiter), ok: ending == .destinationLeft, from: nodeKey)
        close()
    }

    private func close() {
        drainingUntil = 0
        let connection = self.connection
        self.connection = nil
        connection?.delegate = nil
        connection?.fail("replication to \(nodeKey) ended")
        stats.ended()
    }

    private func publish() {
        stats.update(queued: queue.unconfirmedCount, bytes: queue.queuedBytes, confirmed: queue.confirmed,
                     oldestSince: queue.inFlightCount > 0 ? oldestInFlightSince : 0)
    }

    private static func answer(_ waiter: ReplicaWaiter, ok: Bool, from nodeKey: String) {
        answer([waiter], ok: ok, from: nodeKey)
    }

    /// Posts the answers to the workers that own the waiting writes, one task per worker.
    private static func answer(_ waiters: [ReplicaWaiter], ok: Bool, from nodeKey: String) {
        guard !waiters.isEmpty else { return }
        var remaining = waiters
        while let worker = remaining.first?.worker {
            // One pass per worker (there are a few): its tokens, and the waiters of the others.
            var tokens: [UInt64] = []
            tokens.reserveCapacity(remaining.count)
            var others: [ReplicaWaiter] = []
            for waiter in remaining {
                if waiter.worker === worker { tokens.append(waiter.token) } else { others.append(waiter) }
            }
            remaining = others
            worker.runLater { [tokens] in
                guard let handler = worker.handler as? NodeHandler else { return }
                for token in tokens { handler.replicaAnswered(token: token, from: nodeKey, ok: ok) }
            }
        }
    }

    // MARK: OutboundDelegate (home thread)

    func outbound(_ connection: OutboundConnection, received input: UnsafeRawBufferPointer) -> Int {
        guard connection === self.connection else { return input.count }
        // Every complete reply line at once, so the writes they release are answered with one
        // posted task per worker rather than one per write.
        var released = releasedScratch
        releasedScratch = []
        defer {
            Self.answer(released, ok: true, from: nodeKey)
            released.removeAll(keepingCapacity: true)
            releasedScratch = released
        }
        var offset = 0
        while offset < input.count, let found = memchr(input.baseAddress! + offset, 0x0A, input.count - offset) {
            let newline = input.baseAddress!.distance(to: UnsafeRawPointer(found))
            let line = UnsafeRawBufferPointer(rebasing: input[offset..<newline])
            guard queue.inFlightCount > 0 else {
                connection.fail("unexpected reply from \(nodeKey)")
                return input.count
            }
            guard ReplicaReply.confirms(line) else {
                // Not applied (the destination is fenced, or does not take copies from us under
                // its map): keep everything and offer it again a little later.
                stats.refused(String(decoding: line.prefix { $0 != 0x0D }, as: UTF8.self))
                connection.fail("\(nodeKey) refused a copy")
                return newline + 1
            }
            queue.confirmOldest(releasing: &released)
            offset = newline + 1
        }
        if offset > 0 {
            oldestInFlightSince = queue.inFlightCount > 0 ? ServerClock.monotonicMilliseconds() : 0
            backoff = 0
            publish()
            if drainingUntil > 0 && queue.unconfirmedCount == 0 { close() }
        }
        return offset
    }

    func outboundClosed(_ connection: OutboundConnection, reason: String) {
        guard connection === self.connection else { return }
        self.connection = nil
        queue.rewind()
        oldestInFlightSince = 0
        backoff = min(max(backoff * 2, 50), 1000)
        reconnectAt = ServerClock.monotonicMilliseconds() + backoff
        stats.disconnected(reason)
        publish()
    }
}

/// The replies a destination gives to a replica command.
enum ReplicaReply {
    /// STORED / DELETED: applied. NOT_STORED / NOT_FOUND: the destination already holds this
    /// version or a newer one (of the item or of its deletion), which is as good. Anything else
    /// (SERVER_ERROR, CLIENT_ERROR, ERROR) means the copy was not applied.
    static func confirms(_ line: UnsafeRawBufferPointer) -> Bool {
        // Read for every copy: compared with memcmp rather than a generic sequence comparison.
        switch line.first {
        case UInt8(ascii: "S"): return starts(line, with: "STORED")
        case UInt8(ascii: "D"): return starts(line, with: "DELETED")
        case UInt8(ascii: "N"): return starts(line, with: "NOT_STORED") || starts(line, with: "NOT_FOUND")
        default: return false
        }
    }

    private static func starts(_ line: UnsafeRawBufferPointer, with word: StaticString) -> Bool {
        line.count >= word.utf8CodeUnitCount && memcmp(line.baseAddress!, word.utf8Start, word.utf8CodeUnitCount) == 0
    }
}

/// Limits of every stream of this node.
struct ReplicationSettings: Sendable {
    /// Unconfirmed copies kept per destination; past it the destination needs a full copy.
    var backlogBytes = 64 << 20
    /// A sync write fails if its copy is not confirmed within this time; a destination that
    /// confirms nothing for this long is reconnected.
    var confirmTimeoutMilliseconds: Int64 = 3000
    var connectTimeoutMilliseconds = 1000
}
