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
}

/// Result of `ItemStore.delete`; maps to DELETED / NOT_FOUND.
public enum DeleteOutcome: Equatable, Sendable {
    case deleted
    case notFound
}

/// Result of `ItemStore.arithmetic` (incr / decr).
public enum ArithmeticOutcome: Equatable, Sendable {
    /// The new value, already stored as decimal text.
    case value(UInt64)
    case notFound
    /// The stored value is not a decimal uint64 (memcached's CLIENT_ERROR case).
    case nonNumeric
}
