import Atomics

/// memcached/flare item semantics (spec §3–§6) over any StorageEngine:
/// expiry, versions (= cas uniques), add/replace/append/prepend/cas rules,
/// delete holds, incr/decr and touch.
///
/// Threads: any number of threads may call every method concurrently, except
/// `close()`, which the owner calls once the others have returned (later
/// calls throw `.closed`). Each read-modify-write runs inside one engine
/// update, which the engine makes atomic per key; the delete-hold cache is
/// consulted inside that same update. Callbacks given to get/touch run under
/// the engine's record lock: keep them short and do not call back into the store.
public final class ItemStore: @unchecked Sendable {
    private let engine: any StorageEngine
    private let holds: DeleteHoldCache
    private let isClosed = ManagedAtomic<Bool>(false)

    private static var noBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: nil, count: 0) }

    /// Opens the engine `options.type` names (see StorageOptions).
    public static func open(_ options: StorageOptions) throws(StorageError) -> ItemStore {
        ItemStore(engine: try EngineSelection.makeEngine(options), deleteHoldCapacity: options.deleteHoldCapacity)
    }

    public init(engine: any StorageEngine, deleteHoldCapacity: Int = 65536) {
        self.engine = engine
        self.holds = DeleteHoldCache(capacity: deleteHoldCapacity)
    }

    /// How the configured storage type was mapped onto an engine, for the daemon's log.
    public var mappingNote: String? { engine.mappingNote }

    /// Calls body with the live item's header and value bytes (valid only inside body).
    /// nil = miss (absent or expired; an expired item is removed lazily).
    public func get<R>(_ key: UnsafeRawBufferPointer, now: Int64,
                       _ body: (ItemHeader, UnsafeRawBufferPointer) -> R) throws(StorageError) -> R? {
        var expiredVersion: UInt64?
        let result: R? = try engine.read(key) { record in
            guard let record else { return nil }
            if record.header.isExpired(now: now) {
                expiredVersion = record.header.version
                return nil
            }
            return body(record.header, record.value)
        }
        if let expiredVersion { try removeExpired(key, version: expiredVersion, now: now) }
        return result
    }

    /// Runs a storage command. `expire` is absolute; `casUnique` is used by `.cas` only;
    /// a non-zero `version` is a replicated write that must be newer than the live item.
    public func store(_ command: StoreCommand, key: UnsafeRawBufferPointer, flags: UInt32, expire: Int64,
                      value: UnsafeRawBufferPointer, casUnique: UInt64 = 0, version: UInt64 = 0,
                      now: Int64) throws(StorageError) -> StoreOutcome {
        var outcome = StoreOutcome.notStored
        try engine.update(key) { record in
            let prior = self.prior(of: record, key, now: now)
            switch command {
            case .add:
                guard prior.state == .gone else { return .keep }
            case .replace, .append, .prepend:
                guard prior.state == .alive else { return .keep }
            case .set, .cas:
                break
            }
            let newVersion: UInt64
            if command == .cas {
                guard prior.state != .gone else { outcome = .notFound; return .keep }
                guard casUnique == prior.version else { outcome = .exists; return .keep }
                newVersion = casUnique &+ 1
            } else if version != 0 {
                if prior.state == .alive && version <= prior.version { return .keep }
                newVersion = version
            } else {
                newVersion = prior.version &+ 1
            }
            // The item exists again: its delete-hold entry no longer applies.
            if let digest = prior.holdDigest { self.holds.forget(digest) }
            outcome = .stored(version: newVersion)
            switch command {
            case .append:
                let current = record!
                return .write(ItemHeader(flags: current.header.flags, expire: current.header.expire, version: newVersion),
                              current.value, value)
            case .prepend:
                let current = record!
                return .write(ItemHeader(flags: current.header.flags, expire: current.header.expire, version: newVersion),
                              value, current.value)
            case .set, .add, .replace, .cas:
                return .write(ItemHeader(flags: flags, expire: expire, version: newVersion), value, Self.noBytes)
            }
        }
        return outcome
    }

    /// Deletes an item. `holdUntil` > now refuses add/replace of the key until
    /// then; a non-zero `version` older than the stored one deletes nothing.
    public func delete(_ key: UnsafeRawBufferPointer, holdUntil: Int64 = 0, version: UInt64 = 0,
                       now: Int64) throws(StorageError) -> DeleteOutcome {
        var outcome = DeleteOutcome.notFound
        try engine.update(key) { record in
            let prior = self.prior(of: record, key, now: now)
            if version != 0 && version < prior.version { return .keep }
            guard let record else {
                // A replicated delete of an absent key still orders later writes.
                if version != 0 {
                    self.holds.remember(prior.holdDigest ?? KeyDigest(key), .init(version: version, until: holdUntil))
                }
                return .keep
            }
            if prior.state == .alive { outcome = .deleted }
            let lastVersion = version != 0 ? version : record.header.version
            self.holds.remember(KeyDigest(key), .init(version: lastVersion, until: holdUntil))
            return .remove
        }
        return outcome
    }

    /// incr/decr with memcached 1.6 semantics: the value must be a decimal
    /// uint64 text (else .nonNumeric); incr wraps modulo 2^64, decr stops at 0.
    /// Stores the decimal text with the same flags and expiry, version + 1.
    public func arithmetic(_ key: UnsafeRawBufferPointer, delta: UInt64, increment: Bool,
                           now: Int64) throws(StorageError) -> ArithmeticOutcome {
        var outcome = ArithmeticOutcome.notFound
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)   // room for 20 digits, on the stack
        try withUnsafeMutableBytes(of: &digits) { (digits: UnsafeMutableRawBufferPointer) throws(StorageError) in
            let text = UnsafeMutableRawBufferPointer(rebasing: digits[0..<DecimalCounter.maxDigits])
            try engine.update(key) { record in
                guard let record else { return .keep }
                if record.header.isExpired(now: now) { return self.forgetExpired(key, record) }
                guard let current = DecimalCounter.parse(record.value) else {
                    outcome = .nonNumeric
                    return .keep
                }
                let next = increment ? current &+ delta : (current > delta ? current - delta : 0)
                let start = DecimalCounter.format(next, into: text)
                outcome = .value(next)
                var header = record.header
                header.version &+= 1
                return .write(header, UnsafeRawBufferPointer(rebasing: text[start...]), Self.noBytes)
            }
        }
        return outcome
    }

    /// touch/gat: sets the expiry of a live item and calls body with the updated
    /// header and value; nil = not found. Flags, data and version are unchanged.
    /// If storing the new expiry fails, body has already run and the error is thrown.
    public func touch<R>(_ key: UnsafeRawBufferPointer, expire: Int64, now: Int64,
                         _ body: (ItemHeader, UnsafeRawBufferPointer) -> R) throws(StorageError) -> R? {
        var result: R?
        try engine.update(key) { record in
            guard let record else { return .keep }
            if record.header.isExpired(now: now) { return self.forgetExpired(key, record) }
            var header = record.header
            header.expire = expire
            result = body(header, record.value)
            return .write(header, record.value, Self.noBytes)
        }
        return result
    }

    /// Removes every item and forgets all delete holds (flush_all).
    public func flushAll() throws(StorageError) {
        try engine.removeAll()
        holds.removeAll()
    }

    /// Number of stored records (expired ones not yet removed included).
    public var itemCount: Int { engine.recordCount }

    /// Database file size for persistent engines, bytes in use for "memory".
    public var byteSize: Int { engine.byteSize }

    /// A cursor over all live items for `dump`; it holds no lock between calls.
    public func makeCursor() throws(StorageError) -> ItemCursor {
        ItemCursor(records: try engine.makeRecordCursor())
    }

    /// Closes the engine cleanly (SIGTERM). Idempotent.
    public func close() {
        guard !isClosed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        engine.close()
    }

    // MARK: - Item state (spec §3)

    private enum State { case alive, held, gone }

    private struct Prior {
        var state: State
        /// Version of the current item, or the remembered one of a deleted key, or 0.
        var version: UInt64
        /// Set when the state came from the delete-hold cache.
        var holdDigest: KeyDigest?
    }

    /// The key's state, from its record or else from the delete-hold cache.
    /// Called inside the engine's update, so both are read under the record lock.
    private func prior(of record: RecordView?, _ key: UnsafeRawBufferPointer, now: Int64) -> Prior {
        if let record {
            return Prior(state: record.header.isExpired(now: now) ? .gone : .alive,
                         version: record.header.version, holdDigest: nil)
        }
        if holds.isEmpty { return Prior(state: .gone, version: 0, holdDigest: nil) }
        let digest = KeyDigest(key)
        guard let hold = holds.lookup(digest) else { return Prior(state: .gone, version: 0, holdDigest: nil) }
        return Prior(state: hold.until > now ? .held : .gone, version: hold.version, holdDigest: digest)
    }

    /// Removes an expired record found by an update, remembering its version
    /// so that the next write continues the sequence.
    private func forgetExpired(_ key: UnsafeRawBufferPointer, _ record: RecordView) -> RecordChange {
        holds.remember(KeyDigest(key), .init(version: record.header.version, until: 0))
        return .remove
    }

    /// Lazy expiry after a read: removes the record if it is still the same expired item.
    private func removeExpired(_ key: UnsafeRawBufferPointer, version: UInt64, now: Int64) throws(StorageError) {
        try engine.update(key) { record in
            guard let record, record.header.isExpired(now: now), record.header.version == version else { return .keep }
            return self.forgetExpired(key, record)
        }
    }
}
