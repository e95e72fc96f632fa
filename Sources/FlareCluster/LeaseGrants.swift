/// The index's record of the master leases it granted (docs/node-control.md, "The master lease"),
/// as a pure value driven by explicit times (the index's monotonic milliseconds at receipt).
///
/// A node renews with `lease <name> <port> <milliseconds>`; the index records receipt time +
/// milliseconds. Before failing an unresponsive master over, the index revokes (refuses further
/// grants) and waits until `revoke` says the last grant has expired: the node counts its lease
/// from the renewal's send time, which is earlier, so it stops acting as master first.
public struct LeaseGrants: Sendable, Equatable {
    public struct Record: Sendable, Equatable {
        /// When the latest grant ends, by the index's clock.
        public var expiresAt: Int64
        /// Set once the index decided to take the node down: no grant until `restore` or `forget`.
        public var revoked: Bool
    }

    /// The longest lease a node may ask for (`master-lease`'s own upper bound): a larger request
    /// would let a node put off its fail-over for as long as it likes.
    public static let maximumMilliseconds: Int64 = 600_000

    public private(set) var records: [String: Record] = [:]

    public init() {}

    /// A renewal from `nodeKey` received at `now`: true when granted (recorded until
    /// `now + milliseconds`), false when the node's leases are revoked.
    public mutating func grant(_ nodeKey: String, milliseconds: Int64, now: Int64) -> Bool {
        let ends = now + min(max(milliseconds, 0), Self.maximumMilliseconds)
        guard var record = records[nodeKey] else {
            records[nodeKey] = Record(expiresAt: ends, revoked: false)
            return true
        }
        guard !record.revoked else { return false }
        // A renewal of a shorter lease than before does not shorten what was already granted.
        record.expiresAt = max(record.expiresAt, ends)
        records[nodeKey] = record
        return true
    }

    /// Refuses further grants to `nodeKey` and returns when its last grant ends (never before
    /// `now`): the earliest time another node may take over its role. Revoking again returns the
    /// same time, as no grant was added since.
    public mutating func revoke(_ nodeKey: String, now: Int64) -> Int64 {
        var record = records[nodeKey] ?? Record(expiresAt: now, revoked: false)
        record.revoked = true
        records[nodeKey] = record
        return max(now, record.expiresAt)
    }

    /// The node answered before its take-over ran: grants resume, the past ones still count.
    public mutating func restore(_ nodeKey: String) {
        records[nodeKey]?.revoked = false
    }

    /// The take-over ran (or the node left the map): its grants are history, a later renewal
    /// starts afresh. Grants from before carried an older map version, which the node must
    /// install before they count, so they no longer make it a master.
    public mutating func forget(_ nodeKey: String) {
        records[nodeKey] = nil
    }

    public func isRevoked(_ nodeKey: String) -> Bool { records[nodeKey]?.revoked ?? false }

    public func expiry(of nodeKey: String) -> Int64? { records[nodeKey]?.expiresAt }
}
