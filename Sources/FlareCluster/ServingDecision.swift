/// Whether the node serves data requests and may act as master, as published to the workers.
/// Workers check it once per batch of requests without locking: two numbers and the clock.
public struct ServingDecision: Sendable, Equatable {
    /// Data requests are served only by a worker whose map is at least this new; `.max` refuses
    /// them all (a stall or a restart not yet confirmed by the index).
    public var minimumVersion: UInt64
    /// Monotonic milliseconds until which this node may act as master (acknowledge writes, serve
    /// reads as master); `.max` when no lease is needed, `.min` when none is held.
    public var masterUntil: Int64
    /// The send time of the index contact the lease stems from (`.min` if none), for messages.
    public var heardAt: Int64

    public static let open = ServingDecision(minimumVersion: 0, masterUntil: .max, heardAt: .min)

    public init(minimumVersion: UInt64, masterUntil: Int64, heardAt: Int64) {
        self.minimumVersion = minimumVersion
        self.masterUntil = masterUntil
        self.heardAt = heardAt
    }

    @inline(__always)
    public func servesData(version: UInt64) -> Bool { version >= minimumVersion }

    @inline(__always)
    public func mayActAsMaster(now: Int64) -> Bool { now < masterUntil }
}
