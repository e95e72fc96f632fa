#if canImport(Glibc)
import Glibc
#endif
import Atomics
import FlareNet
import FlareStorage
import Logging

/// The background job that purges tombstones past `tombstone-retention` (reads and writes of a
/// key purge its tombstone lazily; this finds the ones nobody touches again). One pass walks the
/// whole store in steps of `recordsPerStep` records with a pause between steps, so it never holds
/// a lock for long nor takes a core; a pass starts only when the store holds tombstones, at most
/// every `passInterval` seconds.
///
/// A small job with start/stop/join of its own, so that whoever owns background threads can run it.
/// Threads: `start` and `stop` from the daemon's main thread; the sweep runs on its own thread,
/// which owns the `TombstoneSweep` (its cursor).
final class TombstoneSweeper: @unchecked Sendable {
    static let recordsPerStep = 1000
    static let pauseBetweenStepsMs = 10

    private let store: ItemStore
    private let clock: ServerClock
    private let logger: Logger
    /// Seconds between the end of one pass and the start of the next.
    let passInterval: Int
    private let running = ManagedAtomic<Bool>(false)
    private let wakeUp = Condition()
    private var thread = pthread_t()

    init(store: ItemStore, clock: ServerClock, logger: Logger) {
        self.store = store
        self.clock = clock
        self.logger = logger
        // A tenth of the retention, between 1 s and a minute: tombstones outlive it by at most that much.
        passInterval = Int(min(60, max(1, store.tombstoneRetention / 10)))
    }

    func start() {
        guard !running.exchange(true, ordering: .relaxed) else { return }
        let retained = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&thread, nil, { arg in
            Unmanaged<TombstoneSweeper>.fromOpaque(arg!).takeRetainedValue().run()
            return nil
        }, retained)
    }

    /// Stops the job and joins its thread (it stops between two steps).
    func stop() {
        guard running.exchange(false, ordering: .relaxed) else { return }
        wakeUp.signal()
        pthread_join(thread, nil)
    }

    private func run() {
        let sweep = store.makeTombstoneSweep()
        while pause(milliseconds: passInterval * 1000) {
            guard store.tombstoneCount > 0 else { continue }
            var purged = 0
            do {
                while running.load(ordering: .relaxed) {
                    let step = try sweep.step(maxRecords: Self.recordsPerStep, now: clock.now)
                    purged += step.purged
                    if step.passEnded { break }
                    guard pause(milliseconds: Self.pauseBetweenStepsMs) else { break }
                }
            } catch {
                logger.error("tombstone sweep stopped this pass: \(error)")
            }
            if purged > 0 {
                logger.info("purged \(purged) tombstones older than \(store.tombstoneRetention) s; \(store.tombstoneCount) remain")
            }
        }
    }

    /// Waits up to `milliseconds`; false once the job is stopping.
    private func pause(milliseconds: Int) -> Bool {
        wakeUp.withLock {
            if running.load(ordering: .relaxed) { wakeUp.wait(milliseconds: milliseconds) }
        }
        return running.load(ordering: .relaxed)
    }
}
