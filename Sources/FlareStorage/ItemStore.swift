/// memcached/flare item semantics (docs/original-behaviour.md, "Items and storage records") over any StorageEngine:
/// expiry, versions (= cas uniques), add/replace/append/prepend/cas rules,
/// delete holds, incr/decr and touch.
///
/// Versions are node-wide (see VersionClock): every local write, touch and
/// delete takes a new one, so cas uniques never repeat across keys, deletes
/// or flush_all, and replication can order any two writes of a key. A
/// replicated write (non-zero `version`) applies only if it is newer than
/// both the stored item and the key's tombstone; otherwise it reports
/// `.superseded`. A delete leaves a tombstone record in the engine (see
/// ItemHeader), which every read treats as absent and which is purged once
/// `tombstoneRetention` seconds have passed: lazily when an operation meets
/// it, and by `makeTombstoneSweep()`'s incremental passes. With retention 0
/// tombstones live only in the bounded delete-hold cache, so a delete is then
/// ordered against later replicated writes only while its key is remembered there.
///
/// Threads: any number of threads may call every method concurrently, except
/// `close()`, which the owner calls once the others have returned (later
/// calls throw `.closed`). Each read-modify-write runs inside one engine
/// update, which the engine makes atomic per key (see ItemOperations); the
/// delete-hold cache is consulted inside that same update. Callbacks given to
/// get/touch may run under a record lock or on a per-thread copy of the item:
/// keep them short and do not call back into the store from them.
public final class ItemStore: Sendable {
    let engine: any StorageEngine
    let holds: DeleteHoldCache
    /// Issues every local version; replication observes the versions it applies through it.
    public let versions: VersionClock
    /// Seconds a tombstone is kept (`tombstone-retention`); 0 = the delete-hold cache only.
    public let tombstoneRetention: Int64

    /// Opens the engine `options.type` names (see StorageOptions). The stored
    /// versions are not scanned: the clock's wall-clock base already puts new
    /// versions above those of earlier runs.
    public static func open(_ options: StorageOptions,
                            versions: VersionClock = VersionClock()) throws(StorageError) -> ItemStore {
        ItemStore(engine: try EngineSelection.makeEngine(options), deleteHoldCapacity: options.deleteHoldCapacity,
                  tombstoneRetention: options.tombstoneRetention, versions: versions)
    }

    public init(engine: any StorageEngine, deleteHoldCapacity: Int = 65536, tombstoneRetention: Int64 = 3600,
                versions: VersionClock = VersionClock()) {
        self.engine = engine
        self.holds = DeleteHoldCache(capacity: deleteHoldCapacity)
        self.tombstoneRetention = max(0, tombstoneRetention)
        self.versions = versions
    }

    /// How the configured storage type was mapped onto an engine, for the daemon's log.
    public var mappingNote: String? { engine.mappingNote }

    /// Calls body with the live item's header and value bytes (valid only inside body).
    /// nil = miss (absent, deleted or expired; an expired item becomes a tombstone
    /// and a tombstone past its retention is purged, lazily).
    public func get<R>(_ key: UnsafeRawBufferPointer, now: Int64,
                       _ body: (ItemHeader, UnsafeRawBufferPointer) -> R) throws(StorageError) -> R? {
        var stale: ItemHeader?
        let result: R? = try engine.read(key) { record in
            guard let record else { return nil }
            if record.header.isTombstone {
                if record.header.isPurgeable(now: now, retention: tombstoneRetention) { stale = record.header }
                return nil
            }
            if record.header.isExpired(now: now) {
                stale = record.header
                return nil
            }
            return body(record.header, record.value)
        }
        if let stale { try settle(key, stale, now: now) }
        return result
    }

    /// Runs a storage command. `expire` is absolute; `casUnique` is required by `.cas` and, when
    /// non-zero, checked by `.replace`/`.append`/`.prepend` (else `.exists`);
    /// a non-zero `version` is a replicated write, stored with that version only if it is
    /// newer than the key's item and tombstone (else `.superseded`); `.cas` ignores it.
    public func store(_ command: StoreCommand, key: UnsafeRawBufferPointer, flags: UInt32, expire: Int64,
                      value: UnsafeRawBufferPointer, casUnique: UInt64 = 0, version: UInt64 = 0,
                      now: Int64) throws(StorageError) -> StoreOutcome {
        var operation = StoreOperation(command, key: key, flags: flags, expire: expire, value: value,
                                       casUnique: casUnique, version: version, now: now, holds: holds,
                                       clock: versions, retention: tombstoneRetention)
        _ = try engine.update(key, &operation, written: { _ in () })
        return operation.outcome
    }

    /// Deletes an item and leaves a tombstone with a new version (returned in
    /// `.deleted`). `holdUntil` > now refuses add/replace of the key until then.
    /// A non-zero `version` is a replicated delete: it removes only an older item,
    /// leaves its tombstone even if the key is absent, and is `.superseded` when the key
    /// already has this version or a newer one.
    /// A non-zero `casUnique` deletes only that version of a live item (else `.exists`).
    public func delete(_ key: UnsafeRawBufferPointer, holdUntil: Int64 = 0, version: UInt64 = 0,
                       casUnique: UInt64 = 0, now: Int64) throws(StorageError) -> DeleteOutcome {
        var operation = DeleteOperation(key: key, holdUntil: holdUntil, version: version, now: now, holds: holds,
                                        clock: versions, retention: tombstoneRetention)
        operation.casUnique = casUnique
        _ = try engine.update(key, &operation, written: { _ in () })
        return operation.outcome
    }

    /// incr/decr with memcached 1.6 semantics: the value must be a decimal
    /// uint64 text (else .nonNumeric); incr wraps modulo 2^64, decr stops at 0.
    /// Stores the decimal text with the same flags and expiry and a new version (in `.value`).
    /// A non-zero `casUnique` changes only that version of the item (else `.exists`).
    public func arithmetic(_ key: UnsafeRawBufferPointer, delta: UInt64, increment: Bool, casUnique: UInt64 = 0,
                           now: Int64) throws(StorageError) -> ArithmeticOutcome {
        var replaced = ReplacedItem()
        return try arithmetic(key, delta: delta, increment: increment, casUnique: casUnique, now: now, replaced: &replaced)
    }

    /// incr/decr, telling which item (version and value length) the change replaced.
    public func arithmetic(_ key: UnsafeRawBufferPointer, delta: UInt64, increment: Bool, casUnique: UInt64 = 0,
                           now: Int64, replaced: inout ReplacedItem) throws(StorageError) -> ArithmeticOutcome {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)   // room for 20 digits, on the stack
        return try withUnsafeMutableBytes(of: &digits) { (digits: UnsafeMutableRawBufferPointer) throws(StorageError) in
            var operation = ArithmeticOperation(key: key, delta: delta, increment: increment, now: now, holds: holds,
                                                clock: versions, retention: tombstoneRetention, digits: UnsafeMutableRawBufferPointer(rebasing: digits[0..<DecimalCounter.maxDigits]))
            operation.casUnique = casUnique
            _ = try engine.update(key, &operation, written: { _ in () })
            replaced = operation.replaced
            return operation.outcome
        }
    }

    /// touch/gat: sets the expiry of a live item, gives it a new version, and calls
    /// body with the new header and the value as stored; nil = not found. Flags and
    /// data are unchanged.
    public func touch<R>(_ key: UnsafeRawBufferPointer, expire: Int64, now: Int64,
                         _ body: (ItemHeader, UnsafeRawBufferPointer) -> R) throws(StorageError) -> R? {
        var replaced = ReplacedItem()
        return try touch(key, expire: expire, now: now, replaced: &replaced, body)
    }

    /// touch/gat, telling which item (version and value length) the touch replaced once it returns.
    public func touch<R>(_ key: UnsafeRawBufferPointer, expire: Int64, now: Int64, replaced: inout ReplacedItem,
                         _ body: (ItemHeader, UnsafeRawBufferPointer) -> R) throws(StorageError) -> R? {
        var operation = TouchOperation(key: key, expire: expire, now: now, holds: holds, clock: versions,
                                       retention: tombstoneRetention)
        // An expired item turns into a tombstone, which is written but is no hit.
        let result: R?? = try engine.update(key, &operation, written: { record in
            record.header.isTombstone ? nil : body(record.header, record.value)
        })
        replaced = operation.replaced
        return result ?? nil
    }

    /// Removes every item and tombstone and forgets all delete holds (flush_all). The
    /// version clock goes on: a cas unique read before the flush never matches again.
    public func flushAll() throws(StorageError) {
        try engine.removeAll()
        holds.removeAll()
    }

    /// Number of stored items (expired ones not yet removed included, tombstones not).
    public var itemCount: Int { max(0, engine.recordCount - engine.tombstoneCount) }

    /// Number of stored tombstones.
    public var tombstoneCount: Int { engine.tombstoneCount }

    /// Database file size for persistent engines, bytes in use for "memory".
    public var byteSize: Int { engine.byteSize }

    /// A cursor over all live items for `dump`; it holds no lock between calls.
    public func makeCursor() throws(StorageError) -> ItemCursor {
        ItemCursor(records: try engine.makeRecordCursor())
    }

    /// Closes the engine cleanly (SIGTERM). Idempotent.
    public func close() {
        engine.close()
    }

    /// A walk over the store that purges tombstones past their retention, a bounded
    /// number of records per step (see TombstoneSweep).
    public func makeTombstoneSweep() -> TombstoneSweep {
        TombstoneSweep(store: self)
    }

    func makeRecordCursor() throws(StorageError) -> any RecordCursor {
        try engine.makeRecordCursor()
    }

    /// Purges the tombstone `key` had when it was found (if still there and due); true if it did.
    func purge(_ key: UnsafeRawBufferPointer, version: UInt64, now: Int64) throws(StorageError) -> Bool {
        var purge = TombstonePurge(key: key, version: version, now: now, retention: tombstoneRetention,
                                   holds: holds)
        _ = try engine.update(key, &purge, written: { _ in () })
        return purge.purged
    }

    /// After a read met an expired item or a tombstone past its retention: turns the item
    /// into a tombstone, or purges the tombstone, if the record is still the one that was read.
    private func settle(_ key: UnsafeRawBufferPointer, _ header: ItemHeader, now: Int64) throws(StorageError) {
        if header.isTombstone {
            _ = try purge(key, version: header.version, now: now)
            return
        }
        var removal = ExpiredRemoval(key: key, version: header.version, now: now, retention: tombstoneRetention,
                                     holds: holds)
        _ = try engine.update(key, &removal, written: { _ in () })
    }
}
