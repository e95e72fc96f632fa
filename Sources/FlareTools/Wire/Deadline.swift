#if canImport(Glibc)
import Glibc
#endif

/// A point on the monotonic clock by which an I/O step must finish; `.none` waits forever
/// (used for the dump streams, which the original reads without a timeout).
public struct Deadline: Sendable {
    let instant: Double?

    public static let none = Deadline(instant: nil)

    public static func after(seconds: Double) -> Deadline {
        Deadline(instant: MonotonicClock.now() + seconds)
    }

    /// Milliseconds left for poll(2): -1 for no deadline, 0 once passed.
    var pollMilliseconds: Int32 {
        guard let instant else { return -1 }
        let left = (instant - MonotonicClock.now()) * 1000
        return left <= 0 ? 0 : Int32(min(left.rounded(.up), Double(Int32.max)))
    }
}

/// Seconds on CLOCK_MONOTONIC, for deadlines and for the elapsed/ETA figures of progress lines.
public enum MonotonicClock {
    public static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1_000_000_000
    }
}
