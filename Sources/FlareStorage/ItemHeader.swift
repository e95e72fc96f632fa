/// The metadata stored in front of every value, in every engine.
///
/// A record is either an item or a tombstone (`isTombstone`): what a delete
/// leaves behind so that copies older than the delete stay refused after a
/// restart and however many other keys were deleted since (see
/// docs/replication.md). A tombstone has no data; its fields mean:
/// `version` = the delete's version, `expire` = the time until which the
/// delete holds the key against add/replace (0 = no hold), `flags` = the
/// local Unix time (seconds) the tombstone was written, which the retention
/// time counts from.
public struct ItemHeader: Sendable, Equatable {
    /// Opaque client flags (memcached `flags`); a tombstone's write time.
    public var flags: UInt32
    /// Declared here so that the header stays 24 bytes (it fills flags' padding).
    public var isTombstone: Bool
    /// Absolute expiry in Unix seconds; 0 means never. A tombstone's hold time.
    public var expire: Int64
    /// The version of the write that made this item (VersionClock), exposed as
    /// the cas unique; unique on the node and growing with every write of the key.
    public var version: UInt64

    public init(flags: UInt32, expire: Int64, version: UInt64) {
        self.flags = flags
        self.isTombstone = false
        self.expire = expire
        self.version = version
    }

    /// A tombstone of the delete `version`, written at `now`, holding the key until `holdUntil`.
    public static func tombstone(version: UInt64, holdUntil: Int64, now: Int64) -> ItemHeader {
        var header = ItemHeader(flags: UInt32(clamping: now), expire: holdUntil, version: version)
        header.isTombstone = true
        return header
    }

    /// An item is expired once its expiry time has been reached (meaningless for a tombstone).
    @inlinable
    public func isExpired(now: Int64) -> Bool { expire > 0 && expire <= now }

    /// A tombstone may be purged once `retention` seconds have passed since it was
    /// written and its hold (if any) has ended.
    @inlinable
    public func isPurgeable(now: Int64, retention: Int64) -> Bool {
        Int64(flags) &+ retention <= now && expire <= now
    }
}
