#if canImport(Glibc)
import Glibc
#endif

/// The effective settings as `show variables` prints them: replaced by a reload on the main
/// thread, read by any worker. Guarded by a mutex; never on a data request's path.
public final class VariablesSnapshot: @unchecked Sendable {
    /// Heap-allocated: a mutex must not move, and `&property` may hand C a temporary copy.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var current: [String]

    public init(_ lines: [String]) {
        current = lines
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    public func update(_ lines: [String]) {
        pthread_mutex_lock(mutex)
        current = lines
        pthread_mutex_unlock(mutex)
    }

    public func lines() -> [String] {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return current
    }
}
