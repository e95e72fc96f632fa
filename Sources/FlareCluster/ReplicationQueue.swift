/// The bookkeeping of one ordered replication stream from a master to one destination: every
/// operation gets the next position; an operation stays queued until the destination has
/// confirmed it, so after a lost connection or a refusal everything unconfirmed is sent again
/// (operations carry item versions and the destination applies them idempotently, so a copy that
/// arrives twice changes nothing). A `sync` write registers a waiter on its position, released
/// when the destination confirms that position and failed when its deadline passes first.
///
/// The queue is bounded: an operation that would take it past `byteLimit` is not queued and the
/// stream is marked `overflowed`, because a destination that misses an operation can no longer be
/// brought up to date by the stream: it needs a full copy.
///
/// Pure value; the node's stream shell owns one per destination on a single thread, and the
/// cluster simulation drives the same type.
public struct ReplicationQueue<Operation, Waiter> {
    public struct Entry {
        public let position: UInt64
        public let operation: Operation
        public let bytes: Int
    }

    private struct PendingWaiter {
        let position: UInt64
        let deadline: Int64
        let waiter: Waiter
    }

    public let byteLimit: Int
    /// Unconfirmed operations in position order; `entries[head...]` are live.
    private var entries: [Entry] = []
    private var head = 0
    /// How many of the live entries were sent on the current connection (they come first).
    private var sent = 0
    private var waiters: [PendingWaiter] = []
    private var waiterHead = 0
    /// The destination holds every operation up to this position.
    public private(set) var confirmed: UInt64 = 0
    public private(set) var nextPosition: UInt64 = 1
    public private(set) var queuedBytes = 0
    /// An operation was dropped for lack of room: the destination needs a full copy.
    public private(set) var overflowed = false

    public init(byteLimit: Int) {
        self.byteLimit = byteLimit
    }

    /// Operations not yet confirmed.
    public var unconfirmedCount: Int { entries.count - head }
    /// Operations sent on the current connection and not yet answered.
    public var inFlightCount: Int { sent }
    public var unsentCount: Int { unconfirmedCount - sent }
    public var waiterCount: Int { waiters.count - waiterHead }

    public enum AppendResult: Equatable {
        case queued(position: UInt64)
        /// Not queued: the queue is full (or overflowed before); any waiter is returned unused.
        case overflowed
    }

    /// Queues an operation of `bytes` bytes; `waiter` (with its deadline) is released when the
    /// destination confirms it.
    public mutating func append(_ operation: Operation, bytes: Int, waiter: Waiter? = nil, deadline: Int64 = 0) -> AppendResult {
        guard !overflowed, queuedBytes + bytes <= byteLimit || unconfirmedCount == 0 else {
            overflowed = true
            return .overflowed
        }
        let position = nextPosition
        nextPosition += 1
        entries.append(Entry(position: position, operation: operation, bytes: bytes))
        queuedBytes += bytes
        if let waiter { waiters.append(PendingWaiter(position: position, deadline: deadline, waiter: waiter)) }
        return .queued(position: position)
    }

    /// The operations to send now, in order; they count as in flight from here on.
    public mutating func takeUnsent() -> ArraySlice<Entry> {
        let from = head + sent
        sent = unconfirmedCount
        return entries[from...]
    }

    /// The destination applied the oldest in-flight operation; returns the waiters released.
    public mutating func confirmOldest() -> [Waiter] {
        var released: [Waiter] = []
        confirmOldest(releasing: &released)
        return released
    }

    /// `confirmOldest`, appending the waiters released to `released` (the stream confirms many
    /// operations per read, without an array per confirmation).
    public mutating func confirmOldest(releasing released: inout [Waiter]) {
        precondition(sent > 0, "a confirmation with nothing in flight")
        let entry = entries[head]
        head += 1
        sent -= 1
        queuedBytes -= entry.bytes
        confirmed = entry.position
        compact()
        releaseWaiters(upTo: entry.position, into: &released)
    }

    /// The connection was lost or the destination refused an operation: whatever is unconfirmed
    /// is sent again on the next connection, from the oldest.
    public mutating func rewind() {
        sent = 0
    }

    /// Waiters whose deadline passed before their position was confirmed (their operations stay
    /// queued and are still delivered).
    public mutating func expireWaiters(now: Int64) -> [Waiter] {
        var expired: [Waiter] = []
        var kept: [PendingWaiter] = []
        for pending in waiters[waiterHead...] {
            if pending.deadline <= now { expired.append(pending.waiter) } else { kept.append(pending) }
        }
        if !expired.isEmpty {
            waiters = kept
            waiterHead = 0
        }
        return expired
    }

    /// Ends the stream: every waiter is returned (the caller decides what their writes get).
    public mutating func drainWaiters() -> [Waiter] {
        let all = waiters[waiterHead...].map(\.waiter)
        waiters.removeAll()
        waiterHead = 0
        return all
    }

    private mutating func releaseWaiters(upTo position: UInt64, into released: inout [Waiter]) {
        while waiterHead < waiters.count && waiters[waiterHead].position <= position {
            released.append(waiters[waiterHead].waiter)
            waiterHead += 1
        }
        if waiterHead == waiters.count {
            waiters.removeAll(keepingCapacity: true)
            waiterHead = 0
        }
    }

    private mutating func compact() {
        if head == entries.count {
            entries.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024 && head * 2 >= entries.count {
            entries.removeFirst(head)
            head = 0
        }
    }
}
