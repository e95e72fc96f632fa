#if canImport(Glibc)
import Glibc
#endif
import Atomics
import FlareCluster
import FlareNet

/// Publishes the control plane's serving decision (`NodeCore.serving`) to the workers and notices
/// when this process was suspended (SIGSTOP, a paused VM): meanwhile the index may have failed it
/// over and promoted a slave, and the push saying so may still sit unread in a socket.
///
/// A ticker thread stamps the time every 100 ms and reports a gap of more than a second to the
/// core (`stallDetected`), which fences data requests until a map fetched afresh arrives. A worker
/// that sees a stale stamp first refuses its batch on its own, without waiting for the ticker.
///
/// Lock-free for workers: once per batch they read three atomics and the coarse monotonic clock.
final class StallGuard: @unchecked Sendable {
    /// What a worker does with one batch of requests.
    enum Batch: Equatable {
        case serve
        /// Refuse every data request (a suspension or restart not yet confirmed by the index).
        case refuseData
        /// Serve, but do not act as master: the lease is not held.
        case refuseMaster
    }

    private let lastTick = ManagedAtomic<Int64>(StallGuard.nowMilliseconds())
    private let minimumVersion = ManagedAtomic<UInt64>(0)
    private let masterUntil = ManagedAtomic<Int64>(.max)
    private let heardAt = ManagedAtomic<Int64>(.min)
    /// Stalls are watched only with index servers configured (a node on its own has no one to
    /// confirm its map and nothing that could have replaced it). Fixed before the server starts.
    let watchesStalls: Bool
    static let tickMilliseconds = 100
    static let stallMilliseconds: Int64 = 1000
    /// Called on the ticker thread with each detected stall, before the fresh stamp is published.
    var onStall: ((_ now: Int64) -> Void)?
    /// Called on the ticker thread every tick.
    var onTick: ((_ now: Int64) -> Void)?

    init(watchesStalls: Bool) {
        self.watchesStalls = watchesStalls
    }

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
        // The core fences before the fresh stamp is published, so nobody sees the stamp without the fence.
        if now - lastTick.load(ordering: .acquiring) > Self.stallMilliseconds { onStall?(now) }
        lastTick.store(now, ordering: .releasing)
        onTick?(now)
    }

    /// Makes `decision` the one workers check. Called under the membership lock, in step order.
    func publish(_ decision: ServingDecision) {
        heardAt.store(decision.heardAt, ordering: .relaxed)
        masterUntil.store(decision.masterUntil, ordering: .releasing)
        minimumVersion.store(decision.minimumVersion, ordering: .releasing)
    }

    /// What to do with a batch of requests under a map of `version`. Workers call this once per batch.
    @inline(__always)
    func check(version: UInt64) -> Batch {
        let now = Self.nowMilliseconds()
        if watchesStalls {
            // Stamp first: a fresh stamp implies the ticker already published any fence it saw.
            if now - lastTick.load(ordering: .acquiring) > Self.stallMilliseconds { return .refuseData }
        }
        if version < minimumVersion.load(ordering: .acquiring) { return .refuseData }
        return now < masterUntil.load(ordering: .acquiring) ? .serve : .refuseMaster
    }

    /// How long ago the contact the lease stemmed from was sent, for the refusal message (nil: never).
    func silentMilliseconds() -> Int64? {
        let heard = heardAt.load(ordering: .relaxed)
        return heard == .min ? nil : Self.nowMilliseconds() - heard
    }
}
