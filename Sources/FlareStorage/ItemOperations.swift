/// The read-modify-write steps of ItemStore, one RecordUpdater each. They run
/// inside the engine's update of the key, so the record and the key's
/// delete-hold entry are read and changed atomically with respect to other
/// updates of that key.
///
/// Threads: each value is created, run and read by one caller thread; the
/// only shared state it touches is the (thread-safe) DeleteHoldCache.

/// A key's state before a write (spec §3: alive, held or gone).
struct PriorState {
    enum Kind { case alive, held, gone }

    var kind: Kind
    /// Version of the current item, or the remembered one of a deleted key, or 0.
    var version: UInt64
    /// Set when the state came from the delete-hold cache.
    var holdDigest: KeyDigest?

    init(of record: RecordView?, key: UnsafeRawBufferPointer, now: Int64, holds: DeleteHoldCache) {
        if let record {
            kind = record.header.isExpired(now: now) ? .gone : .alive
            version = record.header.version
            holdDigest = nil
            return
        }
        kind = .gone
        version = 0
        holdDigest = nil
        if holds.isEmpty { return }
        let digest = KeyDigest(key)
        guard let hold = holds.lookup(digest) else { return }
        kind = hold.until > now ? .held : .gone
        version = hold.version
        holdDigest = digest
    }
}

private var noBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: nil, count: 0) }

/// set / add / replace / append / prepend / cas.
struct StoreOperation: RecordUpdater {
    let command: StoreCommand
    let key: UnsafeRawBufferPointer
    let flags: UInt32
    let expire: Int64
    let value: UnsafeRawBufferPointer
    let casUnique: UInt64
    let version: UInt64
    let now: Int64
    let holds: DeleteHoldCache
    private(set) var outcome = StoreOutcome.notStored

    init(_ command: StoreCommand, key: UnsafeRawBufferPointer, flags: UInt32, expire: Int64,
         value: UnsafeRawBufferPointer, casUnique: UInt64, version: UInt64, now: Int64, holds: DeleteHoldCache) {
        self.command = command
        self.key = key
        self.flags = flags
        self.expire = expire
        self.value = value
        self.casUnique = casUnique
        self.version = version
        self.now = now
        self.holds = holds
    }

    mutating func decide(_ record: RecordView?) -> RecordChange {
        let prior = PriorState(of: record, key: key, now: now, holds: holds)
        switch command {
        case .add:
            guard prior.kind == .gone else { return .keep }
        case .replace, .append, .prepend:
            guard prior.kind == .alive else { return .keep }
        case .set, .cas:
            break
        }
        let newVersion: UInt64
        if command == .cas {
            guard prior.kind != .gone else { outcome = .notFound; return .keep }
            guard casUnique == prior.version else { outcome = .exists; return .keep }
            newVersion = casUnique &+ 1
        } else if version != 0 {
            if prior.kind == .alive && version <= prior.version { return .keep }
            newVersion = version
        } else {
            newVersion = prior.version &+ 1
        }
        // The item exists again: its delete-hold entry no longer applies.
        if let digest = prior.holdDigest { holds.forget(digest) }
        outcome = .stored(version: newVersion)
        switch command {
        case .append, .prepend:
            // memcached keeps the stored flags and expiry and ignores the given ones.
            let current = record!
            let header = ItemHeader(flags: current.header.flags, expire: current.header.expire, version: newVersion)
            return command == .append ? .write(header, current.value, value) : .write(header, value, current.value)
        case .set, .add, .replace, .cas:
            return .write(ItemHeader(flags: flags, expire: expire, version: newVersion), value, noBytes)
        }
    }
}

/// delete, with an optional hold time and replication version (spec §4).
struct DeleteOperation: RecordUpdater {
    let key: UnsafeRawBufferPointer
    let holdUntil: Int64
    let version: UInt64
    let now: Int64
    let holds: DeleteHoldCache
    private(set) var outcome = DeleteOutcome.notFound

    init(key: UnsafeRawBufferPointer, holdUntil: Int64, version: UInt64, now: Int64, holds: DeleteHoldCache) {
        self.key = key
        self.holdUntil = holdUntil
        self.version = version
        self.now = now
        self.holds = holds
    }

    mutating func decide(_ record: RecordView?) -> RecordChange {
        let prior = PriorState(of: record, key: key, now: now, holds: holds)
        if version != 0 && version < prior.version { return .keep }
        guard let record else {
            // A replicated delete of an absent key still orders later writes.
            if version != 0 {
                holds.remember(prior.holdDigest ?? KeyDigest(key), .init(version: version, until: holdUntil))
            }
            return .keep
        }
        if prior.kind == .alive { outcome = .deleted }
        let lastVersion = version != 0 ? version : record.header.version
        holds.remember(KeyDigest(key), .init(version: lastVersion, until: holdUntil))
        return .remove
    }
}

/// incr / decr: the new decimal text is composed in `digits`, which the
/// caller keeps alive until the engine has stored it.
struct ArithmeticOperation: RecordUpdater {
    let key: UnsafeRawBufferPointer
    let delta: UInt64
    let increment: Bool
    let now: Int64
    let holds: DeleteHoldCache
    let digits: UnsafeMutableRawBufferPointer
    private(set) var outcome = ArithmeticOutcome.notFound

    init(key: UnsafeRawBufferPointer, delta: UInt64, increment: Bool, now: Int64, holds: DeleteHoldCache,
         digits: UnsafeMutableRawBufferPointer) {
        self.key = key
        self.delta = delta
        self.increment = increment
        self.now = now
        self.holds = holds
        self.digits = digits
    }

    mutating func decide(_ record: RecordView?) -> RecordChange {
        guard let record else { return .keep }
        if record.header.isExpired(now: now) { return ExpiredRemoval.forget(record, key: key, holds: holds) }
        guard let current = DecimalCounter.parse(record.value) else {
            outcome = .nonNumeric
            return .keep
        }
        let next = increment ? current &+ delta : (current > delta ? current - delta : 0)
        let start = DecimalCounter.format(next, into: digits)
        outcome = .value(next)
        var header = record.header
        header.version &+= 1
        return .write(header, UnsafeRawBufferPointer(rebasing: digits[start...]), noBytes)
    }
}

/// touch / gat: a new expiry; flags, data and version stay.
struct TouchOperation: RecordUpdater {
    let key: UnsafeRawBufferPointer
    let expire: Int64
    let now: Int64
    let holds: DeleteHoldCache

    mutating func decide(_ record: RecordView?) -> RecordChange {
        guard let record else { return .keep }
        if record.header.isExpired(now: now) { return ExpiredRemoval.forget(record, key: key, holds: holds) }
        var header = record.header
        header.expire = expire
        return .write(header, record.value, noBytes)
    }
}

/// Lazy expiry after a read found an expired item: removes it if it is still
/// that same expired item.
struct ExpiredRemoval: RecordUpdater {
    let key: UnsafeRawBufferPointer
    let version: UInt64
    let now: Int64
    let holds: DeleteHoldCache

    mutating func decide(_ record: RecordView?) -> RecordChange {
        guard let record, record.header.isExpired(now: now), record.header.version == version else { return .keep }
        return Self.forget(record, key: key, holds: holds)
    }

    /// Removes an expired record, remembering its version so that the next
    /// write of the key continues the sequence.
    static func forget(_ record: RecordView, key: UnsafeRawBufferPointer, holds: DeleteHoldCache) -> RecordChange {
        holds.remember(KeyDigest(key), .init(version: record.header.version, until: 0))
        return .remove
    }
}
