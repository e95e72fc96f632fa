import Atomics
import Synchronization

/// What `stats replication` shows of one stream: written by the stream's home worker with relaxed
/// atomics, read by whichever worker answers.
final class ReplicationStreamStats: Sendable {
    /// `stats threads` lists the stream as one of flare's replication ("slave") threads.
    let id: Int
    let threadType: Int
    let openedAt: Int64
    let destination: String
    let backlogLimit: Int
    /// Copies not yet confirmed by the destination, and their bytes.
    let queued = ManagedAtomic<Int>(0)
    let queuedBytes = ManagedAtomic<Int>(0)
    /// The last stream position the destination confirmed.
    let confirmed = ManagedAtomic<UInt64>(0)
    /// When the oldest unconfirmed copy in flight was sent (monotonic ms, 0 if none).
    let oldestSince = ManagedAtomic<Int64>(0)
    let refusals = ManagedAtomic<Int>(0)
    let disconnects = ManagedAtomic<Int>(0)
    let overflowed = ManagedAtomic<Bool>(false)
    let isEnded = ManagedAtomic<Bool>(false)
    private let lastProblem = Mutex("")

    init(id: Int, threadType: Int, openedAt: Int64, destination: String, backlogLimit: Int) {
        self.id = id
        self.threadType = threadType
        self.openedAt = openedAt
        self.destination = destination
        self.backlogLimit = backlogLimit
    }

    func update(queued count: Int, bytes: Int, confirmed position: UInt64, oldestSince since: Int64) {
        queued.store(count, ordering: .relaxed)
        queuedBytes.store(bytes, ordering: .relaxed)
        confirmed.store(position, ordering: .relaxed)
        oldestSince.store(since, ordering: .relaxed)
    }

    /// True the first time: the caller reports the overflow once.
    func markOverflowed() -> Bool { !overflowed.exchange(true, ordering: .relaxed) }

    func refused(_ reply: String) {
        refusals.wrappingIncrement(ordering: .relaxed)
        lastProblem.withLock { $0 = "refused: \(reply)" }
    }

    func disconnected(_ reason: String) {
        disconnects.wrappingIncrement(ordering: .relaxed)
        lastProblem.withLock { $0 = reason }
    }

    func ended() { isEnded.store(true, ordering: .relaxed) }

    var problem: String { lastProblem.withLock { $0 } }

    /// Whether the destination is behind: copies unconfirmed for over a second, or lost.
    func lagging(now: Int64) -> Bool {
        let since = oldestSince.load(ordering: .relaxed)
        return overflowed.load(ordering: .relaxed) || (since > 0 && now - since > 1000)
    }
}
