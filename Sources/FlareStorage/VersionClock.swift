import Atomics

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The node-wide source of item versions (= cas uniques, and the order
/// replication applies writes in): a hybrid logical clock. Every version it
/// issues is larger than every version it issued or observed before, and at
/// least the wall-clock time in microseconds.
///
/// Wall-clock microseconds are why no counter is persisted: a restarted node
/// (or one whose data was flushed) starts above every version it issued
/// before, as long as the system clock did not step back by more than the
/// time the node was down. Writes of a key that is still stored or
/// remembered also start above that key's version (`next(after:)`), so the
/// per-key order holds even then.
///
/// Threads: any; lock-free (one compare-exchange loop on one atomic word).
public final class VersionClock: Sendable {
    /// The time source, in microseconds; injectable so that a simulation can drive the clock.
    public typealias Microseconds = @Sendable () -> UInt64

    private let last: ManagedAtomic<UInt64>
    private let microseconds: Microseconds

    public init(microseconds: @escaping Microseconds = VersionClock.wallClockMicroseconds) {
        self.microseconds = microseconds
        last = ManagedAtomic(0)
    }

    /// The largest version issued or observed so far.
    public var current: UInt64 { last.load(ordering: .relaxed) }

    /// A new version: max(last + 1, now in microseconds).
    public func next() -> UInt64 { next(after: 0) }

    /// A new version that is also above `floor` (the version the key already has).
    public func next(after floor: UInt64) -> UInt64 {
        // The time is read once: a retry only needs to step past the racing winner.
        let base = max(microseconds(), floor &+ 1)
        var seen = last.load(ordering: .relaxed)
        while true {
            let candidate = max(seen &+ 1, base)
            // Relaxed suffices: uniqueness and per-thread order come from the single
            // modification order of this one atomic; items are published by the engine's locks.
            let (exchanged, original) = last.weakCompareExchange(expected: seen, desired: candidate,
                                                                 ordering: .relaxed)
            if exchanged { return candidate }
            seen = original
        }
    }

    /// Makes every later version larger than `version` (one applied from a master or a dump),
    /// so that a slave promoted to master continues above everything it holds.
    public func observe(_ version: UInt64) {
        var seen = last.load(ordering: .relaxed)
        while seen < version {
            let (exchanged, original) = last.weakCompareExchange(expected: seen, desired: version,
                                                                 ordering: .relaxed)
            if exchanged { return }
            seen = original
        }
    }

    /// CLOCK_REALTIME in microseconds since the Unix epoch (through the vDSO: no system call).
    @Sendable
    public static func wallClockMicroseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(now.tv_sec) &* 1_000_000 &+ UInt64(now.tv_nsec / 1000)
    }
}
