#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reusable malloc'd memory for copying or composing records, so that small
/// records never cost a malloc. One per thread (`forCurrentThread`) for the
/// Tkrzw engine's reads and writes, one per Tkrzw cursor. Buffers that grew
/// past `retainedLimit` for a large value are given back by `trim()` instead
/// of staying pinned.
///
/// Threads: a thread's buffer is only ever seen by that thread (pthread-specific
/// data); a cursor's buffer only by the thread using the cursor.
struct ScratchBuffer {
    static let retainedLimit = 1 << 20

    private var base: UnsafeMutableRawPointer?
    private var capacity = 0

    /// This thread's buffer, created on first use and freed when the thread exits.
    static func forCurrentThread() -> UnsafeMutablePointer<ScratchBuffer> {
        if let existing = pthread_getspecific(threadScratchKey) {
            return existing.assumingMemoryBound(to: ScratchBuffer.self)
        }
        let fresh = UnsafeMutablePointer<ScratchBuffer>.allocate(capacity: 1)
        fresh.initialize(to: ScratchBuffer())
        pthread_setspecific(threadScratchKey, fresh)
        return fresh
    }

    /// At least `byteCount` bytes, valid until the next reserve or trim; nil if malloc fails.
    /// The contents are not preserved when the buffer grows.
    mutating func reserve(_ byteCount: Int) -> UnsafeMutableRawPointer? {
        if byteCount > capacity || base == nil {
            free(base)
            let rounded = max(4096, byteCount)
            base = malloc(rounded)
            capacity = base == nil ? 0 : rounded
        }
        return base
    }

    /// The first `count` bytes, which the caller wrote after `reserve`.
    func bytes(_ count: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base, count: count)
    }

    /// Gives back a buffer that grew for one large value.
    mutating func trim() {
        if capacity > Self.retainedLimit { release() }
    }

    mutating func release() {
        free(base)
        base = nil
        capacity = 0
    }
}

private let threadScratchKey: pthread_key_t = {
    var key = pthread_key_t()
    let status = pthread_key_create(&key) { raw in
        guard let raw else { return }
        let scratch = raw.assumingMemoryBound(to: ScratchBuffer.self)
        scratch.pointee.release()
        scratch.deinitialize(count: 1)
        scratch.deallocate()
    }
    precondition(status == 0, "pthread_key_create failed (\(status)): too many thread-specific keys")
    return key
}()
