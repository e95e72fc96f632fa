import Atomics
import Synchronization

/// flare's "header cache" (docs/original-behaviour.md, "Items and storage records"): for recently deleted keys,
/// the tombstone's version and the time until which `delete <key> <time>` holds the key.
/// Replicated writes not newer than the tombstone are refused, the next local
/// write's version starts above it, and add/replace honour the hold.
/// A bounded LRU of `capacity` entries in memory, not persistent. With a
/// tombstone retention the tombstones are records in the engine and this cache
/// only keeps purged ones a little longer; with retention 0 it is the only place
/// tombstones live (see ItemOperations).
///
/// Keys are identified by a 128-bit digest so that remembering a delete never
/// allocates; all storage is preallocated.
///
/// Threads: any. Each shard's LRU is inside its own `Mutex`. `ItemStore` calls it from inside
/// an engine's record lock, so the entry of one key is read and written in the
/// same order as that key's record.
final class DeleteHoldCache: Sendable {
    struct Hold: Equatable {
        var version: UInt64
        /// Absolute time until which add/replace are refused; 0 = no hold.
        var until: Int64
    }

    /// A class only because a `Mutex` cannot be an array element.
    private final class Shard: Sendable {
        let lru: Mutex<HoldLRU>
        init(capacity: Int) { lru = Mutex(HoldLRU(capacity: capacity)) }
    }

    private let shards: [Shard]
    private let shardMask: Int
    /// Lets the common case (nothing deleted recently) skip every shard lock.
    private let entryCount = ManagedAtomic<Int>(0)

    init(capacity: Int) {
        let shardCount = capacity >= 1024 ? 16 : 1
        let perShard = capacity > 0 ? (capacity + shardCount - 1) / shardCount : 0
        shards = (0..<shardCount).map { _ in Shard(capacity: perShard) }
        shardMask = shardCount - 1
    }

    var isEmpty: Bool { entryCount.load(ordering: .relaxed) == 0 }

    func lookup(_ digest: KeyDigest) -> Hold? {
        if isEmpty { return nil }
        let shard = shard(for: digest)
        return shard.lru.withLock { $0.lookup(digest) }
    }

    func remember(_ digest: KeyDigest, _ hold: Hold) {
        let shard = shard(for: digest)
        let added = shard.lru.withLock { $0.remember(digest, hold) }
        if added { entryCount.wrappingIncrement(ordering: .relaxed) }
    }

    func forget(_ digest: KeyDigest) {
        if isEmpty { return }
        let shard = shard(for: digest)
        let removed = shard.lru.withLock { $0.forget(digest) }
        if removed { entryCount.wrappingDecrement(ordering: .relaxed) }
    }

    func removeAll() {
        for shard in shards {
            let removed = shard.lru.withLock { $0.removeAll() }
            entryCount.wrappingDecrement(by: removed, ordering: .relaxed)
        }
    }

    private func shard(for digest: KeyDigest) -> Shard {
        shards[Int(truncatingIfNeeded: digest.high >> 32) & shardMask]
    }
}

/// One LRU list over preallocated nodes. Threads: only inside its shard's `Mutex`.
private struct HoldLRU {
    private struct Node {
        var digest = KeyDigest(low: 0, high: 0)
        var hold = DeleteHoldCache.Hold(version: 0, until: 0)
        var newer: Int32 = -1
        var older: Int32 = -1
    }

    private var index: [KeyDigest: Int32] = [:]
    private var nodes: [Node]
    private var newest: Int32 = -1
    private var oldest: Int32 = -1
    /// Never-used or freed nodes, chained through `older`.
    private var free: Int32 = -1

    init(capacity: Int) {
        nodes = Array(repeating: Node(), count: capacity)
        index.reserveCapacity(capacity)
        resetFreeList()
    }

    func lookup(_ digest: KeyDigest) -> DeleteHoldCache.Hold? {
        guard let slot = index[digest] else { return nil }
        return nodes[Int(slot)].hold
    }

    /// Returns true if the entry count grew.
    mutating func remember(_ digest: KeyDigest, _ hold: DeleteHoldCache.Hold) -> Bool {
        if nodes.isEmpty { return false }
        if let slot = index[digest] {
            nodes[Int(slot)].hold = hold
            unlink(slot)
            pushNewest(slot)
            return false
        }
        var slot = free
        var grew = true
        if slot >= 0 {
            free = nodes[Int(slot)].older
        } else {
            slot = oldest
            unlink(slot)
            index.removeValue(forKey: nodes[Int(slot)].digest)
            grew = false
        }
        nodes[Int(slot)].digest = digest
        nodes[Int(slot)].hold = hold
        index[digest] = slot
        pushNewest(slot)
        return grew
    }

    mutating func forget(_ digest: KeyDigest) -> Bool {
        guard let slot = index.removeValue(forKey: digest) else { return false }
        unlink(slot)
        nodes[Int(slot)].older = free
        free = slot
        return true
    }

    /// Returns how many entries were dropped.
    mutating func removeAll() -> Int {
        let count = index.count
        index.removeAll(keepingCapacity: true)
        newest = -1
        oldest = -1
        resetFreeList()
        return count
    }

    private mutating func resetFreeList() {
        free = nodes.isEmpty ? -1 : 0
        for i in nodes.indices {
            nodes[i].older = i + 1 < nodes.count ? Int32(i + 1) : -1
        }
    }

    private mutating func unlink(_ slot: Int32) {
        let node = nodes[Int(slot)]
        if node.newer >= 0 { nodes[Int(node.newer)].older = node.older } else { newest = node.older }
        if node.older >= 0 { nodes[Int(node.older)].newer = node.newer } else { oldest = node.newer }
    }

    private mutating func pushNewest(_ slot: Int32) {
        nodes[Int(slot)].newer = -1
        nodes[Int(slot)].older = newest
        if newest >= 0 { nodes[Int(newest)].newer = slot }
        newest = slot
        if oldest < 0 { oldest = slot }
    }
}
