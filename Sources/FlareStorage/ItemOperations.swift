/// The read-modify-write steps of ItemStore, one RecordUpdater each. They run
/// inside the engine's update of the key, so the record and the key's
/// delete-hold entry are read and changed atomically with respect to other
/// updates of that key.
///
/// Versions: a local write takes the next version of the node's VersionClock,
/// inside the update so that one key's versions grow in the order its writes
/// are applied. A replicated write (non-zero version) applies only if its
/// version is newer than the key's, and the clock observes it.
///
/// Threads: each value is created, run and read by one caller thread; the
/// only shared state it touches is the (thread-safe) DeleteHoldCache and VersionClock.

/// A key's state before a write (spec §3: alive, held or gone).
struct PriorState {
    enum Kind { case alive, held, gone }

    var kind: Kind
    /// Version of the current item (expired or not), or the tombstone's of a
    /// deleted key, or 0. A stored record has no tombstone (writes forget it,
    /// deletes and expiry remove the record when they remember one), so this is
    /// the newest version the key has here.
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
    let clock: VersionClock
    private(set) var outcome = StoreOutcome.notStored

    init(_ command: StoreCommand, key: UnsafeRawBufferPointer, flags: UInt32, expire: Int64,
         value: UnsafeRawBufferPointer, casUnique: UInt64, version: UInt64, now: Int64, holds: DeleteHoldCache,
         clock: VersionClock) {
        self.command = command
        self.key = key
        self.flags = flags
        self.expire = expire
        self.value = value
        self.casUnique = casUnique
        self.version = version
        self.now = now
        self.holds = holds
        self.clock = clock
    }

    mutating func decide(_ record: RecordView?) -> RecordChange {
        let prior = PriorState(of: record, key: key, now: now, holds: holds)
        switch command {
        case .add:
            guard prior.kind == .gone else { return .keep }
        case .replace, .append, .prepend:
            guard prior.kind == .alive else { return .keep }
            // A cas unique given with these (meta `ms C…`, the binary protocol's append) must match,
            // as memcached checks it.
            guard casUnique == 0 || casUnique == prior.version else { outcome = .exists; return .keep }
        case .set, .cas:
            break
        }
        let newVersion: UInt64
        if command == .cas {
            guard prior.kind != .gone else { outcome = .notFound; return .keep }
            guard casUnique == prior.version else { outcome = .exists; return .keep }
            newVersion = clock.next(after: prior.version)
        } else if version != 0 {
            // An expired item's version counts too: lazy expiry would remember it as a tombstone.
            guard version > prior.version else { outcome = .superseded; return .keep }
            clock.observe(version)
            newVersion = version
        } else {
            newVersion = clock.next(after: prior.version)
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

/// delete, with an optional hold time and replication version (spec §4). The
/// tombstone remembered in the delete-hold cache carries the delete's own
/// version, so that replicated writes older than the delete are refused.
struct DeleteOperation: RecordUpdater {
    let key: UnsafeRawBufferPointer
    let holdUntil: Int64
    let version: UInt64
    let now: Int64
    let holds: DeleteHoldCache
    let clock: VersionClock
    /// Non-zero: delete only this version of the item (the binary protocol's delete with a cas).
    var casUnique: UInt64 = 0
    private(set) var outcome = DeleteOutcome.notFound

    init(key: UnsafeRawBufferPointer, holdUntil: Int64, version: UInt64, now: Int64, holds: DeleteHoldCache,
         clock: VersionClock) {
        self.key = key
        self.holdUntil = holdUntil
        self.version = version
        self.now = now
        self.holds = holds
        self.clock = clock
    }

    mutating func decide(_ record: RecordView?) -> RecordChange {
        let prior = PriorState(of: record, key: key, now: now, holds: holds)
        let tombstone: UInt64
        if version != 0 {
            // The item or tombstone held here is this delete or a newer write: it already
            // carries the larger version, so nothing needs remembering.
            guard version > prior.version else { outcome = .superseded; return .keep }
            clock.observe(version)
            tombstone = version
        } else {
            // A local delete of an absent key changes nothing (and is not replicated).
            guard record != nil else { return .keep }
            if casUnique != 0 && prior.kind == .alive && casUnique != prior.version { outcome = .exists; return .keep }
            tombstone = clock.next(after: prior.version)
        }
        // Remembered even when the key is absent: a replicated delete still orders later writes.
        holds.remember(prior.holdDigest ?? KeyDigest(key), .init(version: tombstone, until: holdUntil))
        guard record != nil else { return .keep }
        if prior.kind == .alive { outcome = .deleted(version: tombstone) }
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
    let clock: VersionClock
    let digits: UnsafeMutableRawBufferPointer
    /// Non-zero: change only this version of the item (the binary protocol's incr with a cas).
    var casUnique: UInt64 = 0
    private(set) var outcome = ArithmeticOutcome.notFound

    init(key: UnsafeRawBufferPointer, delta: UInt64, increment: Bool, now: Int64, holds: DeleteHoldCache,
         clock: VersionClock, digits: UnsafeMutableRawBufferPointer) {
        self.key = key
        self.delta = delta
        self.increment = increment
        self.now = now
        self.holds = holds
        self.clock = clock
        self.digits = digits
    }

    mutating func decide(_ record: RecordView?) -> RecordChange {
        guard let record else { return .keep }
        if record.header.isExpired(now: now) { return ExpiredRemoval.forget(record, key: key, holds: holds) }
        guard casUnique == 0 || casUnique == record.header.version else { outcome = .exists; return .keep }
        guard let current = DecimalCounter.parse(record.value) else {
            outcome = .nonNumeric
            return .keep
        }
        let next = increment ? current &+ delta : (current > delta ? current - delta : 0)
        let start = DecimalCounter.format(next, into: digits)
        var header = record.header
        header.version = clock.next(after: header.version)
        outcome = .value(next, version: header.version)
        return .write(header, UnsafeRawBufferPointer(rebasing: digits[start...]), noBytes)
    }
}

/// touch / gat: a new expiry and a new version (so that a replicated touch is
/// ordered against sets of the key); flags and data stay. Without an expiry (a meta
/// command's bump), only the version changes.
struct TouchOperation: RecordUpdater {
    let key: UnsafeRawBufferPointer
    let expire: Int64?
    let now: Int64
    let holds: DeleteHoldCache
    let clock: VersionClock

    mutating func decide(_ record: RecordView?) -> RecordChange {
        guard let record else { return .keep }
        if record.header.isExpired(now: now) { return ExpiredRemoval.forget(record, key: key, holds: holds) }
        var header = record.header
        if let expire { header.expire = expire }
        header.version = clock.next(after: header.version)
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

    /// Removes an expired record, remembering its version as a tombstone so that
    /// replicated writes older than the expired item stay refused.
    static func forget(_ record: RecordView, key: UnsafeRawBufferPointer, holds: DeleteHoldCache) -> RecordChange {
        holds.remember(KeyDigest(key), .init(version: record.header.version, until: 0))
        return .remove
    }
}
