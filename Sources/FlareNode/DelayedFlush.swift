import Dispatch
import FlareStorage
import Logging
import Synchronization

/// memcached's `flush_all <delay>`: at most one pending flush, which a later `flush_all` replaces
/// (the last one sets when the store empties, as in memcached), so a client repeating the command
/// cannot pile up timers. The flush runs on its own serial queue; `stop` cancels a pending one and
/// waits for one in progress, before the store closes.
final class DelayedFlush: Sendable {
    private let queue = DispatchQueue(label: "flared.delayed-flush")
    private let pending = Mutex<(generation: UInt64, stopped: Bool)>((0, false))
    private let store: ItemStore
    private let logger: Logger

    init(store: ItemStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// Flushes the store after `seconds`, replacing any flush still pending. False once stopped.
    @discardableResult
    func schedule(afterSeconds seconds: Int64) -> Bool {
        guard let generation = pending.withLock({ state -> UInt64? in
            guard !state.stopped else { return nil }
            state.generation &+= 1
            return state.generation
        }) else { return false }
        queue.asyncAfter(deadline: .now() + .seconds(Int(clamping: seconds))) { [self] in
            // Only the latest schedule runs; an earlier one finds its generation replaced.
            guard pending.withLock({ !$0.stopped && $0.generation == generation }) else { return }
            do {
                try store.flushAll()
                logger.info("delayed flush_all done")
            } catch {
                logger.error("delayed flush_all failed: \(error)")
            }
        }
        return true
    }

    /// An immediate `flush_all` supersedes a pending delayed one.
    func cancel() {
        pending.withLock { $0.generation &+= 1 }
    }

    /// Cancels what is pending and waits for a flush in progress (shutdown, before the store closes).
    func stop() {
        pending.withLock { $0.stopped = true }
        queue.sync {}
    }
}
