import Atomics

/// Counters that one thread writes and any thread may read (for `stats`).
///
/// The owning thread updates with a relaxed load and store, which compiles to plain moves: no
/// locked instruction and no cache line shared with other writers. Readers sum the values of all
/// threads; they may see a count one request late, never a torn one.
public final class ThreadCounters: @unchecked Sendable {
    private let slots: UnsafeMutablePointer<UnsafeAtomic<UInt64>.Storage>
    public let count: Int

    public init(count: Int) {
        self.count = count
        // One cache line at least, so two threads' counters never share a line.
        let padded = max(count, 8)
        slots = UnsafeMutablePointer<UnsafeAtomic<UInt64>.Storage>.allocate(capacity: padded)
        slots.initialize(repeating: UnsafeAtomic<UInt64>.Storage(0), count: padded)
    }

    deinit { slots.deallocate() }

    /// Adds `n` to counter `index`. Only the owning thread may call this.
    @inline(__always)
    public func add(_ index: Int, _ n: UInt64 = 1) {
        let atomic = UnsafeAtomic<UInt64>(at: slots + index)
        atomic.store(atomic.load(ordering: .relaxed) &+ n, ordering: .relaxed)
    }

    public func value(_ index: Int) -> UInt64 {
        UnsafeAtomic<UInt64>(at: slots + index).load(ordering: .relaxed)
    }
}

/// Socket-level counters kept by every worker.
public enum NetCounter {
    public static let bytesRead = 0
    public static let bytesWritten = 1
    public static let totalConnections = 2
    static let count = 3
}
