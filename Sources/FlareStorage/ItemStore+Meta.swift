/// The conditional writes of memcached's meta commands: delete and arithmetic only when the item
/// still has the cas unique the client read (`md`/`ma` with `C`), and marking an item stale.
extension ItemStore {
    /// `delete` when the live item's version is `expected`; `.mismatch` when it has another.
    public func delete(_ key: UnsafeRawBufferPointer, ifVersion expected: UInt64,
                       now: Int64) throws(StorageError) -> Guarded<DeleteOutcome> {
        var operation = VersionGuard(inner: DeleteOperation(key: key, holdUntil: 0, version: 0, now: now, holds: holds,
                                                            clock: versions, retention: tombstoneRetention), expected: expected, now: now)
        _ = try engine.update(key, &operation, written: { _ in () })
        return operation.mismatched ? .mismatch : .ran(operation.inner.outcome)
    }

    /// incr/decr (as `arithmetic`) when the live item's version is `expected`.
    public func arithmetic(_ key: UnsafeRawBufferPointer, delta: UInt64, increment: Bool, ifVersion expected: UInt64,
                           now: Int64) throws(StorageError) -> Guarded<ArithmeticOutcome> {
        var replaced = ReplacedItem()
        return try arithmetic(key, delta: delta, increment: increment, ifVersion: expected, now: now, replaced: &replaced)
    }

    /// The same, telling which item (version and value length) the change replaced.
    public func arithmetic(_ key: UnsafeRawBufferPointer, delta: UInt64, increment: Bool, ifVersion expected: UInt64,
                           now: Int64, replaced: inout ReplacedItem) throws(StorageError) -> Guarded<ArithmeticOutcome> {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)   // room for 20 digits, on the stack
        return try withUnsafeMutableBytes(of: &digits) { (digits: UnsafeMutableRawBufferPointer) throws(StorageError) in
            let inner = ArithmeticOperation(key: key, delta: delta, increment: increment, now: now, holds: holds,
                                            clock: versions, retention: tombstoneRetention,
                                            digits: UnsafeMutableRawBufferPointer(rebasing: digits[0..<DecimalCounter.maxDigits]))
            // memcached refuses an empty value as non-numeric before it compares the cas unique
            // (other non-numeric values after).
            var operation = VersionGuard(inner: inner, expected: expected, now: now, exempt: { $0.value.isEmpty })
            _ = try engine.update(key, &operation, written: { _ in () })
            replaced = operation.inner.replaced
            return operation.mismatched ? .mismatch : .ran(operation.inner.outcome)
        }
    }

    /// Gives a live item a new version (a new cas unique) and, when `expire` is given, a new
    /// expiry; data and flags stay (`md <key> I`). `expected` (non-zero) must match the item's
    /// version. Returns the new header, nil when the key has no live item.
    public func bump(_ key: UnsafeRawBufferPointer, expire: Int64?, ifVersion expected: UInt64 = 0,
                     now: Int64) throws(StorageError) -> Guarded<ItemHeader?> {
        var replaced = ReplacedItem()
        return try bump(key, expire: expire, ifVersion: expected, now: now, replaced: &replaced)
    }

    /// The same, telling which item's version it replaced.
    public func bump(_ key: UnsafeRawBufferPointer, expire: Int64?, ifVersion expected: UInt64 = 0,
                     now: Int64, replaced: inout ReplacedItem) throws(StorageError) -> Guarded<ItemHeader?> {
        var operation = VersionGuard(inner: TouchOperation(key: key, expire: expire, now: now, holds: holds, clock: versions,
                                                                retention: tombstoneRetention),
                                     expected: expected, now: now)
        // An expired item turns into a tombstone, which is written but is no live item.
        let header: ItemHeader?? = try engine.update(key, &operation, written: { record in
            record.header.isTombstone ? nil : record.header
        })
        replaced = operation.inner.replaced
        return operation.mismatched ? .mismatch : .ran(header ?? nil)
    }
}

/// The result of a write made conditional on the item's version.
public enum Guarded<Outcome> {
    case ran(Outcome)
    /// The live item has another version: nothing was changed.
    case mismatch
}

extension Guarded: Sendable where Outcome: Sendable {}
extension Guarded: Equatable where Outcome: Equatable {}

/// Runs `inner` only when the key's live item has the version `expected` (0: always); an absent or
/// expired item, or a tombstone, goes to `inner` too, which reports it as not found.
struct VersionGuard<Inner: RecordUpdater>: RecordUpdater {
    var inner: Inner
    let expected: UInt64
    let now: Int64
    /// Records `inner` judges before any comparison (it refuses them on other grounds).
    let exempt: ((RecordView) -> Bool)?
    private(set) var mismatched = false

    init(inner: Inner, expected: UInt64, now: Int64, exempt: ((RecordView) -> Bool)? = nil) {
        self.inner = inner
        self.expected = expected
        self.now = now
        self.exempt = exempt
    }

    mutating func decide(_ record: RecordView?) -> RecordChange {
        // A tombstone or an expired item is no live item: `inner` reports it as not found.
        if expected != 0, let record, !record.header.isTombstone, !record.header.isExpired(now: now),
           record.header.version != expected, exempt?(record) != true {
            mismatched = true
            return .keep
        }
        return inner.decide(record)
    }
}
