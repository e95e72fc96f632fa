import Synchronization

typealias EntryPointer = UnsafeMutablePointer<MemoryEntry>

/// One part of the memory engine's key space: its table behind its own lock.
/// A class only because a `Mutex` cannot be an array element.
final class MemoryShard: Sendable {
    let table = Mutex(ShardTable())
}

/// A shard's chained hash table, LRU list (newest first) and slot table. Every
/// entry keeps its slot for its whole life, including in-place and copying
/// updates, so a cursor walking the slots visits each long-lived entry exactly
/// once even while the table grows.
///
/// Threads: only inside its shard's `Mutex`. Not copyable: it owns its entries
/// and arrays and frees them when it goes.
/// @unchecked: raw malloc'd entries and arrays, touched only inside that `Mutex`.
struct ShardTable: ~Copyable, @unchecked Sendable {
    private(set) var count = 0
    /// Slots [0, slotsInUse) have been handed out; the holes are in `freeSlots`.
    private(set) var slotsInUse = 0

    private var tables: Tables
    private var newest: EntryPointer?
    private var oldest: EntryPointer?

    init() {
        tables = Tables(bucketCount: Tables.initialSize, slotCapacity: Tables.initialSize)
    }

    deinit {
        tables.releaseAll(newest: newest)
    }

    func find(_ key: UnsafeRawBufferPointer, hash: UInt64) -> EntryPointer? {
        var candidate = tables.buckets[bucketIndex(hash)]
        while let entry = candidate {
            if entry.hasKey(key, hash: hash) { return entry }
            candidate = entry.pointee.chainNext
        }
        return nil
    }

    func entry(atSlot slot: Int) -> EntryPointer? {
        slot < slotsInUse ? tables.slots[slot] : nil
    }

    mutating func insert(_ entry: EntryPointer) {
        let slot: Int
        if tables.freeSlotCount > 0 {
            tables.freeSlotCount -= 1
            slot = Int(tables.freeSlots[tables.freeSlotCount])
        } else {
            if slotsInUse == tables.slotCapacity { tables.growSlots() }
            slot = slotsInUse
            slotsInUse += 1
        }
        tables.slots[slot] = entry
        entry.pointee.slot = Int32(slot)
        let bucket = bucketIndex(entry.pointee.hash)
        entry.pointee.chainNext = tables.buckets[bucket]
        tables.buckets[bucket] = entry
        pushNewest(entry)
        count += 1
        if count > tables.bucketMask + 1 { tables.growBuckets() }
    }

    /// Puts `new` where `old` was (same key): same slot, newest in the LRU.
    mutating func replace(_ old: EntryPointer, with new: EntryPointer) {
        new.pointee.slot = old.pointee.slot
        tables.slots[Int(old.pointee.slot)] = new
        let bucket = bucketIndex(old.pointee.hash)
        new.pointee.chainNext = old.pointee.chainNext
        if tables.buckets[bucket] == old {
            tables.buckets[bucket] = new
        } else {
            var previous = tables.buckets[bucket]
            while let entry = previous, entry.pointee.chainNext != old { previous = entry.pointee.chainNext }
            previous?.pointee.chainNext = new
        }
        unlinkLRU(old)
        pushNewest(new)
    }

    /// Unlinks `entry` from every structure; the caller frees it.
    mutating func remove(_ entry: EntryPointer) {
        let bucket = bucketIndex(entry.pointee.hash)
        if tables.buckets[bucket] == entry {
            tables.buckets[bucket] = entry.pointee.chainNext
        } else {
            var previous = tables.buckets[bucket]
            while let candidate = previous, candidate.pointee.chainNext != entry { previous = candidate.pointee.chainNext }
            previous?.pointee.chainNext = entry.pointee.chainNext
        }
        unlinkLRU(entry)
        let slot = Int(entry.pointee.slot)
        tables.slots[slot] = nil
        tables.freeSlots[tables.freeSlotCount] = Int32(slot)
        tables.freeSlotCount += 1
        count -= 1
    }

    /// Marks `entry` as the most recently used.
    mutating func bump(_ entry: EntryPointer) {
        guard entry != newest else { return }
        unlinkLRU(entry)
        pushNewest(entry)
    }

    /// Unlinks and returns the least recently used entry other than `sparing`.
    mutating func evictOldest(sparing: EntryPointer?) -> EntryPointer? {
        var victim = oldest
        if victim == sparing { victim = victim?.pointee.newer }
        guard let victim else { return nil }
        remove(victim)
        return victim
    }

    /// Swaps in the empty `fresh` tables and returns the old contents, to be
    /// released after unlocking so that a flush keeps the lock for O(1).
    mutating func detachAll(replacingWith fresh: Tables) -> (tables: Tables, newest: EntryPointer?, count: Int) {
        let detached = (tables, newest, count)
        tables = fresh
        newest = nil
        oldest = nil
        count = 0
        slotsInUse = 0
        return detached
    }

    private func bucketIndex(_ hash: UInt64) -> Int {
        Int(truncatingIfNeeded: hash) & tables.bucketMask
    }

    private mutating func unlinkLRU(_ entry: EntryPointer) {
        let newer = entry.pointee.newer
        let older = entry.pointee.older
        if let newer { newer.pointee.older = older } else { newest = older }
        if let older { older.pointee.newer = newer } else { oldest = newer }
        entry.pointee.newer = nil
        entry.pointee.older = nil
    }

    private mutating func pushNewest(_ entry: EntryPointer) {
        entry.pointee.newer = nil
        entry.pointee.older = newest
        newest?.pointee.newer = entry
        newest = entry
        if oldest == nil { oldest = entry }
    }
}

/// The manually managed arrays of a shard. A value type so that a flush can
/// hand the old arrays out of the lock; only its owner table mutates it.
struct Tables {
    static let initialSize = 16

    var buckets: UnsafeMutablePointer<EntryPointer?>
    var bucketMask: Int
    var slots: UnsafeMutablePointer<EntryPointer?>
    var slotCapacity: Int
    /// Stack of slot numbers freed by removals, reused first.
    var freeSlots: UnsafeMutablePointer<Int32>
    var freeSlotCount = 0

    init(bucketCount: Int, slotCapacity: Int) {
        buckets = .allocate(capacity: bucketCount)
        buckets.initialize(repeating: nil, count: bucketCount)
        bucketMask = bucketCount - 1
        slots = .allocate(capacity: slotCapacity)
        slots.initialize(repeating: nil, count: slotCapacity)
        self.slotCapacity = slotCapacity
        freeSlots = .allocate(capacity: slotCapacity)
    }

    /// Doubles the bucket array; chains are short, so this is O(entries / shards).
    mutating func growBuckets() {
        let oldCount = bucketMask + 1
        let newCount = oldCount * 2
        let newBuckets = UnsafeMutablePointer<EntryPointer?>.allocate(capacity: newCount)
        newBuckets.initialize(repeating: nil, count: newCount)
        for index in 0..<oldCount {
            var next = buckets[index]
            while let entry = next {
                next = entry.pointee.chainNext
                let target = Int(truncatingIfNeeded: entry.pointee.hash) & (newCount - 1)
                entry.pointee.chainNext = newBuckets[target]
                newBuckets[target] = entry
            }
        }
        buckets.deallocate()
        buckets = newBuckets
        bucketMask = newCount - 1
    }

    /// Doubles the slot table, keeping every entry at its slot number.
    mutating func growSlots() {
        let newCapacity = slotCapacity * 2
        let newSlots = UnsafeMutablePointer<EntryPointer?>.allocate(capacity: newCapacity)
        newSlots.moveInitialize(from: slots, count: slotCapacity)
        (newSlots + slotCapacity).initialize(repeating: nil, count: newCapacity - slotCapacity)
        slots.deallocate()
        slots = newSlots
        let newFree = UnsafeMutablePointer<Int32>.allocate(capacity: newCapacity)
        newFree.moveInitialize(from: freeSlots, count: freeSlotCount)
        freeSlots.deallocate()
        freeSlots = newFree
        slotCapacity = newCapacity
    }

    /// Frees the arrays and every entry reachable from `newest` through the LRU list.
    func releaseAll(newest: EntryPointer?) {
        var next = newest
        while let entry = next {
            next = entry.pointee.older
            entry.release()
        }
        buckets.deallocate()
        slots.deallocate()
        freeSlots.deallocate()
    }
}
