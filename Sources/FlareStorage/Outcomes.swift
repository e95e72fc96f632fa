/// The memcached storage commands, all handled by `ItemStore.store`.
public enum StoreCommand: Sendable {
    case set, add, replace, append, prepend, cas
}

/// Result of `ItemStore.store`; maps to STORED / NOT_STORED / EXISTS / NOT_FOUND.
public enum StoreOutcome: Equatable, Sendable {
    case stored(version: UInt64)
    case notStored
    case exists
    case notFound
    /// A replicated write (non-zero version) that was not applied because this
    /// copy already holds this version or a newer one of the key (item or
    /// tombstone). For replication that is a success; NOT_STORED is a refusal.
    case superseded
}

/// Result of `ItemStore.delete`; maps to DELETED / NOT_FOUND.
public enum DeleteOutcome: Equatable, Sendable {
    /// A live item was removed; `version` is the tombstone's (for replication).
    case deleted(version: UInt64)
    case notFound
    /// The item's version is not the one the delete named.
    case exists
    /// A replicated delete older than the item or tombstone this copy holds: nothing changed.
    case superseded
}

/// Result of `ItemStore.arithmetic` (incr / decr).
public enum ArithmeticOutcome: Equatable, Sendable {
    /// The new value, already stored as decimal text, and the item's new version.
    case value(UInt64, version: UInt64)
    case notFound
    /// The stored value is not a decimal uint64 (memcached's CLIENT_ERROR case).
    case nonNumeric
    /// The item's version is not the one the request named.
    case exists
}
