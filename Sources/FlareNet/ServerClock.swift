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

    public static func systemNow() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec)
    }
}
