import Atomics
import Synchronization

/// The "memory" storage type: items in malloc'd blocks, evicted least recently
/// used first once their total size exceeds `limitBytes` (like memcached -m).
///
/// The key space is split into shards, each with its own mutex, hash table and
/// LRU list. Eviction is LRU within the shard being written (as memcached is
/// LRU within a slab class), falling back to other shards when that one has
/// nothing left to give.
///
/// Threads: any thread may call any method except `close()` concurrently.
/// Shard state is inside the shard's `Mutex`; the totals are atomics.
final class MemoryEngine: StorageEngine {
    let mappingNote: String? = nil
    let location = "memory"
    let limitBytes: Int

    private let shards: [MemoryShard]
    private let shardShift: UInt64
    private let usedBytes = ManagedAtomic<Int>(0)
    private let itemCount = ManagedAtomic<Int>(0)
    /// Tombstones among `itemCount`; they take memory and are evicted like items.
    private let tombstones = ManagedAtomic<Int>(0)
    /// Round-robin start for evicting from other shards.
    private let evictionTurn = ManagedAtomic<Int>(0)
    private let isClosed = ManagedAtomic<Bool>(false)

    /// `shardCount` must be a power of two; tests use 1 to observe exact LRU order.
    init(limitBytes: Int, shardCount: Int = 64) {
        precondition(shardCount > 0 && shardCount & (shardCount - 1) == 0, "shard count must be a power of two")
        self.limitBytes = limitBytes
        shards = (0..<shardCount).map { _ in MemoryShard() }
        shardShift = UInt64(64 - shardCount.trailingZeroBitCount)
    }

    var recordCount: Int { itemCount.load(ordering: .relaxed) }
    var tombstoneCount: Int { tombstones.load(ordering: .relaxed) }
    var byteSize: Int { usedBytes.load(ordering: .relaxed) }
    var shardCount: Int { shards.count }

    func read<R>(_ key: UnsafeRawBufferPointer, _ body: (RecordView?) -> R) throws(StorageError) -> R {
        try checkOpen()
        let hash = KeyHash.hash(key)
        let shard = shard(for: hash)
        // The result leaves through a variable: `withLock` only returns values it can prove unshared.
        var result: R?
        shard.table.withLock { table in
            let entry = table.find(key, hash: hash)
            if let entry { table.bump(entry) }
            result = body(entry?.view)
        }
        return result!
    }

    func update<U: RecordUpdater, R>(_ key: UnsafeRawBufferPointer, _ updater: inout U,
                                     written: (RecordView) -> R) throws(StorageError) -> R? {
        try checkOpen()
        let hash = KeyHash.hash(key)
        let shard = shard(for: hash)
        var unlinked: EntryPointer?   // entries to free once unlocked, chained by chainNext
        var failure: StorageError?
        var result: R?
        shard.table.withLock { table in
            let current = table.find(key, hash: hash)
            switch updater.decide(current?.view) {
            case .keep:
                break
            case .remove:
                if let current {
                    table.remove(current)
                    account(removed: current)
                    current.pointee.chainNext = unlinked
                    unlinked = current
                }
            case .write(let item, let first, let second):
                let valueCount = first.count + second.count
                let footprint = MemoryEntry.footprint(keyCount: key.count, valueCount: valueCount)
                if footprint > limitBytes {
                    failure = .itemTooLarge(bytes: footprint, limit: limitBytes)
                } else if let current, current.pointee.valueCount == valueCount {
                    current.writeValue(first, second)
                    countTombstone(item.isTombstone, replacing: current.pointee.item.isTombstone)
                    current.pointee.item = item
                    table.bump(current)
                    result = written(current.view)
                } else if let fresh = MemoryEntry.make(key: key, hash: hash, item: item, first: first, second: second) {
                    if let current {
                        table.replace(current, with: fresh)
                        usedBytes.wrappingIncrement(by: footprint - current.footprint, ordering: .relaxed)
                        countTombstone(item.isTombstone, replacing: current.pointee.item.isTombstone)
                        current.pointee.chainNext = unlinked
                        unlinked = current
                    } else {
                        table.insert(fresh)
                        usedBytes.wrappingIncrement(by: footprint, ordering: .relaxed)
                        itemCount.wrappingIncrement(ordering: .relaxed)
                        if item.isTombstone { tombstones.wrappingIncrement(ordering: .relaxed) }
                    }
                    while usedBytes.load(ordering: .relaxed) > limitBytes, let victim = table.evictOldest(sparing: fresh) {
                        account(removed: victim)
                        victim.pointee.chainNext = unlinked
                        unlinked = victim
                    }
                    result = written(fresh.view)
                } else {
                    failure = .io(path: location, detail: "out of memory allocating \(footprint) bytes")
                }
            }
        }
        release(unlinked)
        if let failure { throw failure }
        if usedBytes.load(ordering: .relaxed) > limitBytes { evictFromOtherShards() }
        return result
    }

    func removeAll() throws(StorageError) {
        try checkOpen()
        dropAll()
    }

    func makeRecordCursor() throws(StorageError) -> any RecordCursor {
        try checkOpen()
        return MemoryRecordCursor(engine: self)
    }

    /// Frees every item; a memory store has nothing to flush.
    func close() {
        guard !isClosed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        dropAll()
    }

    func shard(at index: Int) -> MemoryShard { shards[index] }

    func checkOpen() throws(StorageError) {
        if isClosed.load(ordering: .acquiring) { throw .closed(path: location) }
    }

    /// Empties each shard in turn, holding its lock only to swap in empty tables.
    private func dropAll() {
        for shard in shards {
            let fresh = Tables(bucketCount: Tables.initialSize, slotCapacity: Tables.initialSize)
            var bytes = 0
            var detachedTombstones = 0
            var detached: (tables: Tables, newest: EntryPointer?, count: Int)?
            shard.table.withLock { table in
                let taken = table.detachAll(replacingWith: fresh)
                // Sum the bytes while no one else can free these entries.
                var next = taken.newest
                while let entry = next {
                    bytes += entry.footprint
                    if entry.pointee.item.isTombstone { detachedTombstones += 1 }
                    next = entry.pointee.older
                }
                detached = taken
            }
            guard let detached else { continue }
            detached.tables.releaseAll(newest: detached.newest)
            usedBytes.wrappingDecrement(by: bytes, ordering: .relaxed)
            itemCount.wrappingDecrement(by: detached.count, ordering: .relaxed)
            tombstones.wrappingDecrement(by: detachedTombstones, ordering: .relaxed)
        }
    }

    private func shard(for hash: UInt64) -> MemoryShard {
        shards.count == 1 ? shards[0] : shards[Int(truncatingIfNeeded: hash >> shardShift)]
    }

    private func account(removed entry: EntryPointer) {
        usedBytes.wrappingDecrement(by: entry.footprint, ordering: .relaxed)
        itemCount.wrappingDecrement(ordering: .relaxed)
        if entry.pointee.item.isTombstone { tombstones.wrappingDecrement(ordering: .relaxed) }
    }

    @inline(__always)
    private func countTombstone(_ isTombstone: Bool, replacing wasTombstone: Bool) {
        if isTombstone == wasTombstone { return }
        if isTombstone { tombstones.wrappingIncrement(ordering: .relaxed) } else { tombstones.wrappingDecrement(ordering: .relaxed) }
    }

    private func release(_ chain: EntryPointer?) {
        var next = chain
        while let entry = next {
            next = entry.pointee.chainNext
            entry.release()
        }
    }

    /// The written shard had nothing more to evict: take the oldest entries of
    /// the other shards in turn, one lock at a time.
    private func evictFromOtherShards() {
        var idleShards = 0
        while usedBytes.load(ordering: .relaxed) > limitBytes, idleShards < shards.count {
            let shard = shards[evictionTurn.loadThenWrappingIncrement(ordering: .relaxed) & (shards.count - 1)]
            let victim: EntryPointer? = shard.table.withLock { table in
                guard let victim = table.evictOldest(sparing: nil) else { return nil }
                account(removed: victim)
                return victim
            }
            if let victim { victim.release(); idleShards = 0 } else { idleShards += 1 }
        }
    }
}
