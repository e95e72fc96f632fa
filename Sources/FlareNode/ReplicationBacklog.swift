import FlareNet
import Synchronization

/// The copies this node recently sent as master, so a slave that restarted (or was away for a
/// while) catches up with `backlog <since-version> …` instead of copying the whole partition.
///
/// One ring per worker, each behind its own mutex: a worker appends only to its own ring, so the
/// mutex is uncontended on the write path (taken by another thread only while a `backlog` request
/// or a reset reads the rings). Each ring holds up to `limit / workers` bytes; when it evicts,
/// it remembers the highest version it dropped.
///
/// The backlog belongs to one era: this node being the active master of one partition. A new era
/// (the node becomes master, of a partition or another one) empties it and starts at the version
/// clock's value then, so a backlog never answers for copies from before this node was master.
/// `reach` — the larger of the era's start and the highest evicted version — is the version up to
/// which copies may be missing: a request is answered only if it needs nothing at or below it.
final class ReplicationBacklog: Sendable {
    struct Entry: Sendable {
        /// The replica command exactly as handed to the streams (`<master>set …` or `<master>delete …`).
        let bytes: [UInt8]
        let version: UInt64
        /// Monotonic milliseconds when it was appended.
        let appendedAt: Int64
        /// Where the key is inside `bytes`, for the partition filter.
        let keyStart: UInt32
        let keyLength: UInt32

        var key: ArraySlice<UInt8> { bytes[Int(keyStart)..<Int(keyStart + keyLength)] }
        /// What an entry costs: its bytes plus the bookkeeping around them.
        var cost: Int { bytes.count + 64 }
    }

    /// One worker's copies in append order.
    struct Ring: Sendable {
        private(set) var entries: [Entry] = []
        private(set) var head = 0
        private(set) var bytes = 0
        /// The highest version evicted since the era began (0: nothing evicted).
        private(set) var evictedVersion: UInt64 = 0
        let limit: Int

        init(limit: Int) { self.limit = limit }

        var count: Int { entries.count - head }

        mutating func append(_ entry: Entry) {
            entries.append(entry)
            bytes += entry.cost
            while bytes > limit && head < entries.count {
                let old = entries[head]
                bytes -= old.cost
                evictedVersion = max(evictedVersion, old.version)
                head += 1
            }
            // Drop the evicted prefix now and then, so removal stays amortised O(1).
            if head >= 1024 && head * 2 >= entries.count {
                entries.removeFirst(head)
                head = 0
            }
        }

        mutating func removeAll() {
            entries.removeAll()
            head = 0
            bytes = 0
            evictedVersion = 0
        }

        /// Entries whose version is above `floor`, in append order.
        func entries(above floor: UInt64, into result: inout [Entry]) {
            for index in head..<entries.count where entries[index].version > floor {
                result.append(entries[index])
            }
        }
    }

    private final class RingBox: Sendable {
        let ring: Mutex<Ring>
        init(limit: Int) { ring = Mutex(Ring(limit: limit)) }
    }

    private struct Era: Sendable {
        /// The partition this node masters in the newest map, or -1.
        var partition = -1
        /// The version clock when the era began: copies at or below it may be missing.
        var startVersion: UInt64 = .max
        /// The newest map version seen, so an older map on a slow worker cannot start a new era.
        var mapVersion: UInt64 = 0
    }

    /// Versions a copy of one key may trail another copy appended before it (two workers take
    /// versions and append in either order), and so how far below `since` a catch-up starts.
    static let margin: UInt64 = 1_000_000

    let limit: Int
    private let rings: [RingBox]
    private let era = Mutex(Era())

    /// `limit`: bytes over all workers (0 = off); `workers`: one ring each.
    init(limit: Int, workers: Int) {
        self.limit = limit
        let perRing = limit / max(1, workers)
        rings = limit > 0 ? (0..<max(1, workers)).map { _ in RingBox(limit: perRing) } : []
    }

    var enabled: Bool { limit > 0 }

    /// Follows the master role as maps arrive on the workers: a new era when this node becomes the
    /// active master of `partition` (or of another one), none while it masters nothing.
    /// `clock`: the version clock's current value. Called per map change, not per request.
    func follow(partition: Int, mapVersion: UInt64, standalone: Bool, clock: () -> UInt64) {
        guard enabled else { return }
        let reset = era.withLock { era -> Bool in
            guard mapVersion >= era.mapVersion || standalone else { return false }
            era.mapVersion = mapVersion
            guard partition != era.partition else { return false }
            era.partition = partition
            era.startVersion = .max
            return true
        }
        guard reset else { return }
        for box in rings { box.ring.withLock { $0.removeAll() } }
        // Read after emptying: a copy appended before the reset had its version before this value.
        let start = max(clock(), 1)
        era.withLock { era in
            if era.partition == partition && era.startVersion == .max { era.startVersion = partition >= 0 ? start : .max }
        }
    }

    /// Records one copy. `worker`: the index of the calling worker (its own ring).
    func append(_ entry: Entry, worker: Int) {
        rings[worker % rings.count].ring.withLock { $0.append(entry) }
    }

    /// The era's partition and start, for `stats` and tests.
    var state: (partition: Int, startVersion: UInt64) { era.withLock { ($0.partition, $0.startVersion) } }

    /// Every copy a slave that applied everything up to `since` may lack: those with a version above
    /// `since - margin`; or the reason they cannot all be given — the version up to which the
    /// backlog may miss copies. Nil `partition` when this node is not the master of `partition`.
    func entries(since: UInt64, partition: Int, filter: (Entry) -> Bool) -> Result<[Entry], NotReached> {
        let floor = since > Self.margin ? since - Self.margin : 0
        let (masterOf, start) = state
        guard enabled, masterOf == partition, start != .max else { return .failure(NotReached(version: .max)) }
        var reach = start
        var result: [Entry] = []
        for box in rings {
            box.ring.withLock { ring in
                reach = max(reach, ring.evictedVersion)
                if reach <= floor { ring.entries(above: floor, into: &result) }
            }
            if reach > floor { return .failure(NotReached(version: reach)) }
        }
        return .success(result.filter(filter))
    }

    struct NotReached: Error, Equatable {
        /// Copies up to this version may be missing (`max`: no backlog for this partition here).
        let version: UInt64
    }

    /// Bytes and copies held, for `stats`.
    var usage: (bytes: Int, copies: Int) {
        rings.reduce((0, 0)) { total, box in box.ring.withLock { (total.0 + $0.bytes, total.1 + $0.count) } }
    }
}
