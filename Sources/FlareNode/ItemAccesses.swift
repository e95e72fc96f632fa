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

    /// What memcached would answer for the item of `version` at `now`.
    struct State: Equatable {
        /// Read at least once (`h1`).
        var fetched: Bool
        /// Read more than once: the access time has moved to the newest read.
        var readAgain: Bool
        /// memcached's access time (`l` counts from it).
        var accessed: Int64
        /// When the item was stored, or the item it was changed in place from.
        var stored: Int64
    }

    /// memcached sets an item's access time when it is stored and moves it on reads after the
    /// first (the first read only marks the item fetched); so does this. The store time is the
    /// version's (the node's microsecond clock at the write, never later than now), or the one an
    /// in-place change carried over (`carry`).
    func state(of version: UInt64, now: Int64) -> State {
        var readers = 0
        var repeated = false
        var newest: Int64 = 0
        var age: Int64 = 0
        for table in tables {
            guard let entry = table.entry(for: version) else { continue }
            age = max(age, entry.age)
            guard entry.fetched else { continue }
            readers += 1
            repeated = repeated || entry.repeated
            newest = max(newest, entry.lastRead)
        }
        let stored = min(Int64(version / 1_000_000), now) - age
        let readAgain = repeated || readers > 1
        let accessed = readAgain ? max(newest, stored) : stored
        return State(fetched: readers > 0, readAgain: readAgain, accessed: min(accessed, now), stored: stored)
    }

    /// How memcached changes an item in place, and what that does to its reads.
    enum InPlaceChange {
        /// touch, gat, `mg … T`: a read (the first only marks the item; later ones move the time).
        case touch
        /// incr, decr, ma to a number no longer: the item stays read, its time moves to now.
        case counter
        /// `md … I`, a TTL set by `ma … T`: reads and time stay.
        case keep
    }

    /// The item of `old` lives on as `new` (memcached changed it in place): its reads go with
    /// it, noted in `table` (the calling worker's).
    func carry(from old: UInt64, to new: UInt64, now: Int64, _ change: InPlaceChange, into table: AccessTable) {
        guard old != 0, new != 0, old != new else { return }
        // Store times as the versions say, unclamped: the age is the distance between the two.
        let before = state(of: old, now: .max)
        let age = max(0, Int64(new / 1_000_000) - before.stored)
        var entry = AccessTable.Entry(lastRead: before.accessed, repeated: before.readAgain, fetched: before.fetched, age: age)
        switch change {
        case .touch:
            entry.repeated = before.fetched
            entry.lastRead = now
            entry.fetched = true
        case .counter:
            // An unread counter's time is now, which the new version already says.
            guard before.fetched else { return }
            entry = AccessTable.Entry(lastRead: now, repeated: true, fetched: true, age: age)
        case .keep:
            break
        }
        table.write(new, entry)
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
        var fetched = true
        /// How much earlier than its version says the item was stored (carried by an in-place change).
        var age: Int64 = 0
    }

    /// Three words per slot: sequence, version (0: empty), state (last read second in the low 32
    /// bits, bit 32: read more than once, bit 33: read (clear when only an age was carried),
    /// bits 34...63: age in seconds).
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
    private static let fetchedBit: UInt64 = 1 << 33
    private static let ageShift: UInt64 = 34
    private static let maxAge: Int64 = (1 << 30) - 1

    private static func pack(_ entry: Entry) -> UInt64 {
        UInt64(UInt32(clamping: entry.lastRead)) | (entry.repeated ? repeatedBit : 0) | (entry.fetched ? fetchedBit : 0)
            | UInt64(min(max(0, entry.age), maxAge)) << ageShift
    }

    private static func unpack(_ value: UInt64) -> Entry {
        Entry(lastRead: Int64(value & 0xFFFF_FFFF), repeated: value & repeatedBit != 0,
              fetched: value & fetchedBit != 0, age: Int64(value >> ageShift))
    }

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
        let tag = UnsafeAtomic<UInt64>(at: slot + 1)
        let state = UnsafeAtomic<UInt64>(at: slot + 2)
        let old = state.load(ordering: .relaxed)
        var entry = Entry(lastRead: now, repeated: false)
        if tag.load(ordering: .relaxed) == version {
            let noted = Self.unpack(old)
            entry.repeated = noted.fetched
            entry.age = noted.age
        }
        let new = Self.pack(entry)
        // A hot item read again within the second changes nothing: no write, no cache line taken.
        if new == old && tag.load(ordering: .relaxed) == version { return }
        store(version, new, at: slot)
    }

    /// Sets the entry of `version` (an in-place change carrying an item's reads). Owner only.
    func write(_ version: UInt64, _ entry: Entry) {
        guard version != 0 else { return }
        store(version, Self.pack(entry), at: base(version))
    }

    @inline(__always)
    private func store(_ version: UInt64, _ value: UInt64, at slot: UnsafeMutablePointer<UnsafeAtomic<UInt64>.Storage>) {
        let sequence = UnsafeAtomic<UInt64>(at: slot)
        let count = sequence.load(ordering: .relaxed)
        sequence.store(count &+ 1, ordering: .relaxed)
        atomicMemoryFence(ordering: .releasing)
        UnsafeAtomic<UInt64>(at: slot + 1).store(version, ordering: .relaxed)
        UnsafeAtomic<UInt64>(at: slot + 2).store(value, ordering: .relaxed)
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
            return Self.unpack(value)
        }
        // The writer kept rewriting the slot: another item is taking it.
        return nil
    }
}
