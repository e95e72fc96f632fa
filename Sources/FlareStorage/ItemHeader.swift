/// The metadata stored in front of every value, in every engine.
public struct ItemHeader: Sendable, Equatable {
    /// Opaque client flags (memcached `flags`).
    public var flags: UInt32
    /// Absolute expiry in Unix seconds; 0 means never.
    public var expire: Int64
    /// The version of the write that made this item (VersionClock), exposed as
    /// the cas unique; unique on the node and growing with every write of the key.
    public var version: UInt64

    public init(flags: UInt32, expire: Int64, version: UInt64) {
        self.flags = flags
        self.expire = expire
        self.version = version
    }

    /// An item is expired once its expiry time has been reached.
    @inlinable
    public func isExpired(now: Int64) -> Bool { expire > 0 && expire <= now }
}
