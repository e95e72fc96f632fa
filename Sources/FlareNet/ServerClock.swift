#if canImport(Glibc)
import Glibc
#endif
import Atomics

/// Unix time in seconds, refreshed by the main loop every second (memcached's approach), so request
/// paths read the time with one relaxed load instead of a system call.
public final class ServerClock: Sendable {
    private let seconds = ManagedAtomic<Int64>(ServerClock.systemNow())
    public let startedAt: Int64

    public init() { startedAt = ServerClock.systemNow() }

    @inline(__always)
    public var now: Int64 { seconds.load(ordering: .relaxed) }

    public func refresh() { seconds.store(ServerClock.systemNow(), ordering: .relaxed) }

    /// A coarse monotonic clock in milliseconds (a vDSO read, no system call).
    @inline(__always)
    public static func monotonicMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC_COARSE, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    public static func systemNow() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec)
    }
}
