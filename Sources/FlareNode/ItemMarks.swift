import Atomics
import Synchronization

/// The per-item state of memcached's stale-while-revalidate protocol that flare's records have no
/// room for: "stale" (`md … I`, `ms … I`) and "a client already holds the recache token" (`W` was
/// sent). Keyed by the item's version, which is unique on the node: a new write gives the key a
/// new version, which has no marks, exactly as memcached's new item has none.
///
/// Node-local and in memory: marks are not replicated and do not survive a restart (documented in
/// docs/meta-commands.md). Bounded: past `capacity` the oldest versions are forgotten.
/// Threads: any worker; the lock is taken only while marks exist (`count` is read first).
final class ItemMarks: Sendable {
    struct Mark: OptionSet, Sendable {
        let rawValue: UInt8
        static let stale = Mark(rawValue: 1)
        static let tokenSent = Mark(rawValue: 2)
    }

    private let marks = Mutex<[UInt64: Mark]>([:])
    private let count = ManagedAtomic<Int>(0)
    let capacity: Int

    init(capacity: Int = 65536) {
        self.capacity = capacity
    }

    /// The marks of the item with this version (empty for almost every item, without a lock).
    func marks(of version: UInt64) -> Mark {
        guard count.load(ordering: .relaxed) > 0 else { return [] }
        return marks.withLock { $0[version] ?? [] }
    }

    /// Adds marks to a version.
    func add(_ mark: Mark, to version: UInt64) {
        marks.withLock { table in
            table[version, default: []].formUnion(mark)
            trim(&table)
        }
    }

    /// Keeps the table bounded and publishes its size. Called with the lock held.
    private func trim(_ table: inout [UInt64: Mark]) {
        if table.count > capacity {
            // Forget the older half: their items have most likely been rewritten since.
            let cut = table.keys.sorted()[table.count / 2]
            table = table.filter { $0.key >= cut }
        }
        count.store(table.count, ordering: .relaxed)
    }

    /// True while no item has marks (no lock taken).
    var isEmpty: Bool { count.load(ordering: .relaxed) == 0 }

    /// The same item under a new version (a touch, or a counter changed in place as memcached
    /// does when the new number is no longer): its marks go with it.
    func carry(from old: UInt64, to new: UInt64) {
        guard old != new, !isEmpty else { return }
        marks.withLock { table in
            guard let mark = table.removeValue(forKey: old) else { return }
            table[new, default: []].formUnion(mark)
            trim(&table)
        }
    }

    /// Claims the recache token of a version: true for the first caller only.
    func claimToken(of version: UInt64) -> (won: Bool, marks: Mark) {
        marks.withLock { table in
            let current = table[version] ?? []
            guard !current.contains(.tokenSent) else { return (false, current) }
            table[version] = current.union(.tokenSent)
            trim(&table)
            return (true, current)
        }
    }
}
