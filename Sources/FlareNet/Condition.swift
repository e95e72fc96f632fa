#if canImport(Glibc)
import Glibc
#endif

/// A mutex with a condition variable, for background threads that wait for work with a deadline
/// (the index's monitors, reconstruction's store writer). Never used on a request path. The one
/// pthread-based lock: `Synchronization.Mutex` has no condition to wait on. `@unchecked Sendable`:
/// it owns the pthread mutex and condition.
public final class Condition: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    public init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(cond, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        cond.deallocate()
    }

    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    public func signal() {
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(cond)
        pthread_mutex_unlock(mutex)
    }

    /// Waits (lock held by the caller inside `withLock`) until signalled or `milliseconds` pass.
    public func wait(milliseconds: Int) {
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        let nanos = deadline.tv_nsec + (milliseconds % 1000) * 1_000_000
        deadline.tv_sec += milliseconds / 1000 + nanos / 1_000_000_000
        deadline.tv_nsec = nanos % 1_000_000_000
        pthread_cond_timedwait(cond, mutex, &deadline)
    }
}

/// A one-shot result another thread waits for (a priority push's delivery).
public final class PushWaiter: @unchecked Sendable {
    private let condition = Condition()
    private var result: Bool?

    public init() {}

    public func finish(_ ok: Bool) {
        condition.withLock { result = ok }
        condition.signal()
    }

    /// The push's outcome, or false if it did not finish within `milliseconds`.
    public func wait(milliseconds: Int) -> Bool {
        condition.withLock {
            if result == nil { condition.wait(milliseconds: milliseconds) }
            return result ?? false
        }
    }
}
