import Atomics

/// Which items were read, and when, for `mg`'s `h` (fetched before) and `l` (seconds since the
/// last access): flare's records keep no access time, so each worker notes its reads in a table of
/// its own (`AccessTable`), without a lock or an allocation, and an `mg … h l` looks through all of
/// them for the item's current version. A new write gives the key a new version, which nobody
/// has read yet, as memcached's new item (docs/meta-commands.md).
final class ItemAccesses: Sendable {
    let tables: [AccessTable]

    init(workers: Int, slotsPerWorker: Int = AccessTable.defaultSlots) {
        tables = (0..<max(1, workers)).map { _ in AccessTable(slots: slotsPerWorker) }
    }

    func table(forWorker index: Int) -> AccessTable { tables[index % tables.count] }

    /// What memcached would answer for the item of `version` at `now`: whether it was read before,
    /// and the second its access time stands at. memcached sets that time when the item is
    /// stored and moves it on reads after the first (the first read only marks the item
    /// fetched); so does this, with the store time taken from the version (the node's
    /// microsecond clock when it was written, never later than now).
    func state(of version: UInt64, now: Int64) -> (fetched: Bool, accessed: Int64) {
        var readers = 0
        var repeated = false
        var newest: Int64 = 0
        for table in tables {
            guard let entry = table.entry(for: version) else { continue }
            readers += 1
            repeated = repeated || entry.repeated
            newest = max(newest, entry.lastRead)
        }
        let stored = min(Int64(version / 1_000_000), now)
        let accessed = repeated || readers > 1 ? max(newest, stored) : stored
        return (readers > 0, min(accessed, now))
    }
}

/// One worker's reads: a direct-mapped table (slot chosen by the item's version) of
/// (version, last read second, read more than once). Written only by its worker; any worker
/// reads it. Each slot is a sequence lock: the writer makes the sequence odd while it rewrites the
/// slot, so a reader never mixes two items' fields (it retries, or reads the slot as empty).
/// Lossy by design: an item whose slot another item took since reads as never read here.
final class AccessTable: @unchecked Sendable {
    static let defaultSlots = 65_536

    struct Entry: Equatable {
        var lastRead: Int64
        var repeated: Bool
    }

    /// Three words per slot: sequence, version (0: empty), state (last read second in the low 32
    /// bits, bit 32: read more than once).
    private let words: UnsafeMutablePointer<UnsafeAtomic<UInt64>.Storage>
    private let shift: UInt64
    let slots: Int

    /// `slots` is rounded up to a power of two.
    init(slots requested: Int) {
        var slots = 1
        while slots < max(2, requested) { slots <<= 1 }
        self.slots = slots
        shift = UInt64(64 - slots.trailingZeroBitCount)
        words = UnsafeMutablePointer<UnsafeAtomic<UInt64>.Storage>.allocate(capacity: slots * 3)
        words.initialize(repeating: UnsafeAtomic<UInt64>.Storage(0), count: slots * 3)
    }

    deinit { words.deallocate() }

    private static let repeatedBit: UInt64 = 1 << 32

    @inline(__always)
    private func base(_ version: UInt64) -> UnsafeMutablePointer<UnsafeAtomic<UInt64>.Storage> {
        // Fibonacci hashing: consecutive versions spread over the table.
        words + Int((version &* 0x9E37_79B9_7F4A_7C15) >> shift) * 3
    }

    /// Notes a read of the item of `version` at `now`. Only the owning worker may call this.
    @inline(__always)
    func record(_ version: UInt64, now: Int64) {
        guard version != 0 else { return }
        let slot = base(version)
        let sequence = UnsafeAtomic<UInt64>(at: slot)
        let tag = UnsafeAtomic<UInt64>(at: slot + 1)
        let state = UnsafeAtomic<UInt64>(at: slot + 2)
        let second = UInt64(UInt32(clamping: now))
        let same = tag.load(ordering: .relaxed) == version
        let new = same ? second | Self.repeatedBit : second
        // A hot item read again within the second changes nothing: no write, no cache line taken.
        if same && state.load(ordering: .relaxed) == new { return }
        let count = sequence.load(ordering: .relaxed)
        sequence.store(count &+ 1, ordering: .relaxed)
        atomicMemoryFence(ordering: .releasing)
        tag.store(version, ordering: .relaxed)
        state.store(new, ordering: .relaxed)
        sequence.store(count &+ 2, ordering: .releasing)
    }

    /// This worker's reads of the item of `version`, or nil if none is noted. Any thread.
    func entry(for version: UInt64) -> Entry? {
        let slot = base(version)
        let sequence = UnsafeAtomic<UInt64>(at: slot)
        let tag = UnsafeAtomic<UInt64>(at: slot + 1)
        let state = UnsafeAtomic<UInt64>(at: slot + 2)
        for _ in 0..<8 {
            let before = sequence.load(ordering: .acquiring)
            if before & 1 != 0 { continue }
            let seen = tag.load(ordering: .relaxed)
            let value = state.load(ordering: .relaxed)
            atomicMemoryFence(ordering: .acquiring)
            guard sequence.load(ordering: .relaxed) == before else { continue }
            guard seen == version else { return nil }
            return Entry(lastRead: Int64(value & 0xFFFF_FFFF), repeated: value & Self.repeatedBit != 0)
        }
        // The writer kept rewriting the slot: another item is taking it.
        return nil
    }
}
