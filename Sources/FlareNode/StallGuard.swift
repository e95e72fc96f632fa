#if canImport(Glibc)
import Glibc
#endif
import Atomics
import FlareNet

/// Keeps a node that was suspended (SIGSTOP, a paused VM) from serving with the map it had before:
/// meanwhile the index may have failed it over and promoted a slave, and the push saying so may
/// still sit unread in a socket. A ticker thread stamps the time every 100 ms; a gap of more than a
/// second, seen by the ticker or by a worker first, fences data requests until the node has a map at
/// least as new as the index's (fetched by `NodeMembership.confirmAfterStall`).
///
/// Lock-free: workers read two atomics and the coarse monotonic clock once per batch of requests.
final class StallGuard: @unchecked Sendable {
    private let lastTick = ManagedAtomic<Int64>(StallGuard.nowMilliseconds())
    /// Data requests are served only with a map of at least this version (0: no fence).
    private let minimumVersion = ManagedAtomic<UInt64>(0)
    static let tickMilliseconds = 100
    static let stallMilliseconds: Int64 = 1000
    /// Called once per detected stall, on the detecting thread; must not block.
    var onStall: (() -> Void)?

    static func nowMilliseconds() -> Int64 { ServerClock.monotonicMilliseconds() }

    func start() {
        let retained = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        pthread_create(&thread, nil, { arg in
            let guardian = Unmanaged<StallGuard>.fromOpaque(arg!).takeRetainedValue()
            while true {
                usleep(UInt32(StallGuard.tickMilliseconds * 1000))
                guardian.tick()
            }
        }, retained)
        pthread_detach(thread)
    }

    private func tick() {
        let now = Self.nowMilliseconds()
        // Fence before publishing a fresh stamp, so nobody sees the stamp without the fence.
        if now - lastTick.load(ordering: .acquiring) > Self.stallMilliseconds { stalled() }
        lastTick.store(now, ordering: .releasing)
    }

    private func stalled() {
        if minimumVersion.exchange(UInt64.max, ordering: .acquiringAndReleasing) != UInt64.max { onStall?() }
    }

    /// Whether data requests must be refused with a map of `version`. Workers call this once per batch.
    @inline(__always)
    func fences(version: UInt64) -> Bool {
        // Stamp first: a fresh stamp implies the ticker already raised any fence it saw.
        let stamp = lastTick.load(ordering: .acquiring)
        if Self.nowMilliseconds() - stamp > Self.stallMilliseconds { stalled() }
        return version < minimumVersion.load(ordering: .acquiring)
    }

    /// The fence of a restarted cluster member that has not heard from the index yet; distinct from
    /// a stall's, because any map the index sends it lifts this one (a fresh process holds no stale
    /// pushes), while after a stall only a map fetched afresh may.
    private static let awaitingIndex = UInt64.max - 1

    /// Refuses data requests until the index has sent this restarted node a map.
    func fence() {
        minimumVersion.store(Self.awaitingIndex, ordering: .releasing)
    }

    /// The index sent a map (registration reply or push): lifts a restart fence, not a stall's.
    func heardFromIndex(version: UInt64) {
        _ = minimumVersion.compareExchange(expected: Self.awaitingIndex, desired: version, ordering: .acquiringAndReleasing)
    }

    /// The index confirmed its map of `version`: serve again once the local map is that new.
    func confirmed(version: UInt64) {
        minimumVersion.store(version, ordering: .releasing)
    }
}
