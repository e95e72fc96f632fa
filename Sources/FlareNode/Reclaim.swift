#if canImport(Glibc)
import Glibc
#endif
import FlareCluster
import FlareNet
import FlareStorage
import Logging

/// After a new partition is activated, the old masters (and their slaves) still hold copies of
/// the keys that moved. They are never read again — routing sends those keys to the new owner —
/// so this removes them in the background to give the space back (flare leaves them forever).
/// One instance per activation, on a thread of its own; it walks the store with a cursor in small
/// batches, so it never holds a lock for long.
final class Reclaim: @unchecked Sendable {
    private let store: ItemStore
    private let resolver: KeyResolver
    private let partition: Int
    private let count: Int
    private let clock: ServerClock
    private let logger: Logger

    init(store: ItemStore, resolver: KeyResolver, partition: Int, count: Int, clock: ServerClock, logger: Logger) {
        self.store = store
        self.resolver = resolver
        self.partition = partition
        self.count = count
        self.clock = clock
        self.logger = logger
    }

    /// Runs on a thread of `work`, which stops it between batches when the node shuts down (the
    /// keys left are removed by the next reclaim, or stay unread: routing never sends them here).
    func start(in work: BackgroundWork) {
        work.spawn("reclaim of partition \(partition)") { [self] job in run(job) }
    }

    private func run(_ job: BackgroundWork.Job) {
        var moved: [[UInt8]] = []
        var removed = 0
        do {
            let cursor = try store.makeCursor()
            var more = true
            while more {
                if job.isStopping {
                    logger.notice("reclaim of partition \(partition) stopped for shutdown after \(removed) items")
                    return
                }
                moved.removeAll(keepingCapacity: true)
                more = try cursor.next(maxItems: 512, now: clock.now) { key, _, _ in
                    if resolver.partition(of: key, count: count) != partition { moved.append(Array(key)) }
                }
                for key in moved {
                    if case .deleted = try key.withUnsafeBytes({ try store.delete($0, now: clock.now) }) { removed += 1 }
                }
            }
            logger.notice("reclaimed \(removed) items that moved out of partition \(partition) (now \(count) partitions)")
        } catch {
            logger.error("reclaiming moved items stopped: \(error)")
        }
    }
}
