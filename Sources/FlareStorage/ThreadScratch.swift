#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Per-thread reusable memory for composing a record before Tkrzw stores it,
/// so that writes of small values never call malloc. Buffers that grew past
/// `retainedLimit` are given back after use instead of pinning memory per thread.
///
/// Threads: each thread only ever sees its own buffer (pthread-specific data).
struct ThreadScratch {
    static let retainedLimit = 1 << 20

    private var base: UnsafeMutableRawPointer?
    private var capacity = 0

    /// This thread's scratch, created on first use and freed when the thread exits.
    static func current() -> UnsafeMutablePointer<ThreadScratch> {
        if let existing = pthread_getspecific(scratchKey) {
            return existing.assumingMemoryBound(to: ThreadScratch.self)
        }
        let fresh = UnsafeMutablePointer<ThreadScratch>.allocate(capacity: 1)
        fresh.initialize(to: ThreadScratch())
        pthread_setspecific(scratchKey, fresh)
        return fresh
    }

    /// At least `byteCount` bytes, valid until the next call on this thread; nil if malloc fails.
    mutating func reserve(_ byteCount: Int) -> UnsafeMutableRawPointer? {
        if byteCount > capacity {
            free(base)
            let rounded = max(4096, byteCount)
            base = malloc(rounded)
            capacity = base == nil ? 0 : rounded
        }
        return base
    }

    /// Gives back a buffer that grew for one large value.
    mutating func trim() {
        if capacity > Self.retainedLimit {
            free(base)
            base = nil
            capacity = 0
        }
    }
}

private let scratchKey: pthread_key_t = {
    var key = pthread_key_t()
    let status = pthread_key_create(&key) { raw in
        guard let raw else { return }
        let scratch = raw.assumingMemoryBound(to: ThreadScratch.self)
        scratch.pointee.trimAll()
        scratch.deinitialize(count: 1)
        scratch.deallocate()
    }
    precondition(status == 0, "pthread_key_create failed (\(status)): too many thread-specific keys")
    return key
}()

private extension ThreadScratch {
    mutating func trimAll() {
        free(base)
        base = nil
        capacity = 0
    }
}
