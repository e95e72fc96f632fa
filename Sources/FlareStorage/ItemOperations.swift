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
/// Tombstones: with a retention time (`retention` > 0, `tombstone-retention`)
/// a delete writes a tombstone record in place of the item (see ItemHeader),
/// which every operation here reads as "no item, but this version"; a write
/// meeting a tombstone older than the retention time (and past its hold)
/// purges it (`TombstonePurge.settle`). With retention 0, deletes remove the
/// record and remember the tombstone in the bounded DeleteHoldCache only, as
/// before tombstones were persisted; a purged tombstone also goes there, so
/// that it keeps ordering copies while the cache holds it.
///
/// Threads: each value is created, run and read by one caller thread; the
/// only shared state it touches is the (thread-safe) DeleteHoldCache and VersionClock.

/// A key's state before a write (alive, held or gone: docs/original-behaviour.md, "Items and storage records").
struct PriorState {
    enum Kind { case alive, held, gone }

    var kind: Kind
    /// Version of the current item (expired or not), or the tombstone's of a
    /// deleted key (a tombstone record, else the delete-hold cache's), or 0. A
    /// stored item has no cached tombstone (writes forget it, deletes and expiry
    /// remove the item when they remember one), so this is the newest version
    /// the key has here.
    var version: UInt64
    /// Set when the state came from the delete-hold cache.
    var holdDigest: KeyDigest?

    init(of record: RecordView?, key: UnsafeRawBufferPointer, now: Int64, holds: DeleteHoldCache) {
        if let record {
            if record.header.isTombstone {
                kind = record.header.expire > now ? .held : .gone
            } else {
                kind = record.header.isExpired(now: now) ? .gone : .alive
            }
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
    let retention: Int64
    private(set) var outcome = StoreOutcome.notStored

    init(_ command: StoreCommand, key: UnsafeRawBufferPointer, flags: UInt32, expire: Int64,
         value: UnsafeRawBufferPointer, casUnique: UInt64, version: UInt64, now: Int64, holds: DeleteHoldCache,
         clock: VersionClock, retention: Int64) {
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
        self.retention = retention
    }

    mutating func decide(_ record: RecordView?) -> RecordChange {
        let prior = PriorState(of: record, key: key, now: now, holds: holds)
        switch command {
        case .add:
            guard prior.kind == .gone else { return settle(record) }
        case .replace, .append, .prepend:
            guard prior.kind == .alive else { return settle(record) }
            // A cas unique given with these (meta `ms C…`, the binary protocol's append) must match,
            // as memcached checks it.
            guard casUnique == 0 || casUnique == prior.version else { outcome = .exists; return .keep }
        case .set, .cas:
            break
        }
        let newVersion: UInt64
        if command == .cas {
            guard prior.kind != .gone else { outcome = .notFound; return settle(record) }
            guard casUnique == prior.version else { outcome = .exists; return settle(record) }
            newVersion = clock.next(after: prior.version)
        } else if version != 0 {
            // An expired item's version counts too: lazy expiry would remember it as a tombstone.
            guard version > prior.version else { outcome = .superseded; return settle(record) }
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

extension StoreOperation {
    /// The change when the command stores nothing: a tombstone met past its retention goes.
    private func settle(_ record: RecordView?) -> RecordChange {
        TombstonePurge.settle(record, key: key, now: now, retention: retention, holds: holds)
    }
}

/// delete, with an optional hold time and replication version
/// (docs/original-behaviour.md, "Items and storage records"). The
/// tombstone (a record, or with retention 0 an entry of the delete-hold cache)
/// carries the delete's own version, so that replicated writes older than the
/// delete are refused.
struct DeleteOperation: RecordUpdater {
    let key: UnsafeRawBufferPointer
    let holdUntil: Int64
    let version: UInt64
    let now: Int64
    let holds: DeleteHoldCache
    let clock: VersionClock
    let retention: Int64
    /// Non-zero: delete only this version of the item (the binary protocol's delete with a cas).
    var casUnique: UInt64 = 0
    private(set) var outcome = DeleteOutcome.notFound

    init(key: UnsafeRawBufferPointer, holdUntil: Int64, version: UInt64, now: Int64, holds: DeleteHoldCache,
         clock: VersionClock, retention: Int64) {
        self.key = key
        self.holdUntil = holdUntil
        self.version = version
        self.now = now
        self.holds = holds
        self.clock = clock
        self.retention = retention
    }

    mutating func decide(_ record: RecordView?) -> RecordChange {
        let prior = PriorState(of: record, key: key, now: now, holds: holds)
        let tombstone: UInt64
        if version != 0 {
            // The item or tombstone held here is this delete or a newer write: it already
            // carries the larger version, so nothing needs remembering.
            guard version > prior.version else {
                outcome = .superseded
                return TombstonePurge.settle(record, key: key, now: now, retention: retention, holds: holds)
            }
            clock.observe(version)
            tombstone = version
        } else {
            // A local delete of an absent key changes nothing (and is not replicated).
            guard let record, !record.header.isTombstone else {
                return TombstonePurge.settle(record, key: key, now: now, retention: retention, holds: holds)
            }
            if casUnique != 0 && prior.kind == .alive && casUnique != prior.version { outcome = .exists; return .keep }
            tombstone = clock.next(after: prior.version)
        }
        if prior.kind == .alive { outcome = .deleted(version: tombstone) }
        // Written even when the key is absent: a replicated delete still orders later writes.
        if retention > 0 {
            if let digest = prior.holdDigest { holds.forget(digest) }
            return .write(.tombstone(version: tombstone, holdUntil: holdUntil, now: now), noBytes, noBytes)
        }
        holds.remember(prior.holdDigest ?? KeyDigest(key), .init(version: tombstone, until: holdUntil))
        return record != nil ? .remove : .keep
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
    let retention: Int64
    let digits: UnsafeMutableRawBufferPointer
    /// Non-zero: change only this version of the item (the binary protocol's incr with a cas).
    var casUnique: UInt64 = 0
    private(set) var outcome = ArithmeticOutcome.notFound
    /// The counter this change gave a new version.
    private(set) var replaced = ReplacedItem()

    init(key: UnsafeRawBufferPointer, delta: UInt64, increment: Bool, now: Int64, holds: DeleteHoldCache,
         clock: VersionClock, retention: Int64, digits: UnsafeMutableRawBufferPointer) {
        self.key = key
        self.delta = delta
        self.increment = increment
        self.now = now
        self.holds = holds
        self.clock = clock
        self.retention = retention
        self.digits = digits
    }

    mutating func decide(_ record: RecordView?) -> RecordChange {
        guard let record, !record.header.isTombstone else {
            return TombstonePurge.settle(record, key: key, now: now, retention: retention, holds: holds)
        }
        if record.header.isExpired(now: now) {
            return ExpiredRemoval.forget(record, key: key, now: now, retention: retention, holds: holds)
        }
        guard casUnique == 0 || casUnique == record.header.version else { outcome = .exists; return .keep }
        guard let current = DecimalCounter.parse(record.value) else {
            outcome = .nonNumeric
            return .keep
        }
        let next = increment ? current &+ delta : (current > delta ? current - delta : 0)
        let start = DecimalCounter.format(next, into: digits)
        var header = record.header
        replaced = ReplacedItem(version: header.version, length: record.value.count)
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
    let retention: Int64
    /// The item this touch gave a new version.
    private(set) var replaced = ReplacedItem()

    mutating func decide(_ record: RecordView?) -> RecordChange {
        guard let record, !record.header.isTombstone else {
            return TombstonePurge.settle(record, key: key, now: now, retention: retention, holds: holds)
        }
        if record.header.isExpired(now: now) {
            return ExpiredRemoval.forget(record, key: key, now: now, retention: retention, holds: holds)
        }
        var header = record.header
        if let expire { header.expire = expire }
        replaced = ReplacedItem(version: header.version, length: record.value.count)
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
    let retention: Int64
    let holds: DeleteHoldCache

    mutating func decide(_ record: RecordView?) -> RecordChange {
        guard let record, !record.header.isTombstone, record.header.isExpired(now: now),
              record.header.version == version else { return .keep }
        return Self.forget(record, key: key, now: now, retention: retention, holds: holds)
    }

    /// Replaces an expired item by a tombstone of its version (with retention 0: removes
    /// it and remembers the tombstone in the cache), so that replicated writes older
    /// than the expired item stay refused.
    static func forget(_ record: RecordView, key: UnsafeRawBufferPointer, now: Int64, retention: Int64,
                       holds: DeleteHoldCache) -> RecordChange {
        if retention > 0 { return .write(.tombstone(version: record.header.version, holdUntil: 0, now: now), noBytes, noBytes) }
        holds.remember(KeyDigest(key), .init(version: record.header.version, until: 0))
        return .remove
    }
}

/// Removes a tombstone whose retention time has passed (met by a read, or by
/// the sweep), if it is still the one that was found. Its version moves to the
/// delete-hold cache, which keeps ordering copies of the key while it remembers it.
struct TombstonePurge: RecordUpdater {
    let key: UnsafeRawBufferPointer
    let version: UInt64
    let now: Int64
    let retention: Int64
    let holds: DeleteHoldCache
    private(set) var purged = false

    init(key: UnsafeRawBufferPointer, version: UInt64, now: Int64, retention: Int64, holds: DeleteHoldCache) {
        self.key = key
        self.version = version
        self.now = now
        self.retention = retention
        self.holds = holds
    }

    mutating func decide(_ record: RecordView?) -> RecordChange {
        guard let record, record.header.isTombstone, record.header.version == version else { return .keep }
        let change = Self.settle(record, key: key, now: now, retention: retention, holds: holds)
        if case .remove = change { purged = true }
        return change
    }

    /// What an operation that changes nothing does with the record it met: `.remove` for a
    /// tombstone past its retention time and hold, else `.keep`.
    @inline(__always)
    static func settle(_ record: RecordView?, key: UnsafeRawBufferPointer, now: Int64, retention: Int64,
                       holds: DeleteHoldCache) -> RecordChange {
        guard let record, record.header.isTombstone,
              record.header.isPurgeable(now: now, retention: retention) else { return .keep }
        holds.remember(KeyDigest(key), .init(version: record.header.version, until: 0))
        return .remove
    }
}

/// The item a touch or a counter change gave a new version (version 0: none), for what lives on
/// with it (the meta commands' marks and reads).
public struct ReplacedItem: Sendable, Equatable {
    public var version: UInt64
    public var length: Int

    public init(version: UInt64 = 0, length: Int = 0) {
        self.version = version
        self.length = length
    }
}
