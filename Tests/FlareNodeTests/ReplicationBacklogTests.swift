@testable import FlareNode
import XCTest

/// The master's backlog of recent copies: per-worker rings, the era it answers for, the reach.
final class ReplicationBacklogTests: XCTestCase {
    private func entry(_ key: String, version: UInt64, size: Int = 0) -> ReplicationBacklog.Entry {
        let bytes = Array("<m:1>delete \(key) 0 \(version)\r\n".utf8) + [UInt8](repeating: 0x20, count: size)
        return .init(bytes: bytes, version: version, appendedAt: 0, keyStart: 12, keyLength: UInt32(key.utf8.count))
    }

    private func versions(_ result: Result<[ReplicationBacklog.Entry], ReplicationBacklog.NotReached>) -> [UInt64]? {
        (try? result.get())?.map(\.version).sorted()
    }

    private let base: UInt64 = 10_000_000

    /// A master of partition 0 whose era began at `base`.
    private func backlog(limit: Int = 1 << 20, workers: Int = 2) -> ReplicationBacklog {
        let backlog = ReplicationBacklog(limit: limit, workers: workers)
        backlog.follow(partition: 0, mapVersion: 1, standalone: false, clock: { base })
        return backlog
    }

    func testEntriesAboveTheFloorFromEveryWorker() throws {
        let backlog = backlog()
        for (i, v) in [base + 10, base + 2_000_000, base + 3_000_000, base + 2_500_000].enumerated() {
            backlog.append(entry("k\(i)", version: v), worker: i)
        }
        // Since base + 3.2 s: everything above base + 2.2 s (1 s of margin).
        XCTAssertEqual(versions(backlog.entries(since: base + 3_200_000, partition: 0) { _ in true }),
                       [base + 2_500_000, base + 3_000_000])
        XCTAssertEqual(versions(backlog.entries(since: base + 1_000_010, partition: 0) { _ in true })?.count, 3)
        let keys = try backlog.entries(since: base + 1_000_010, partition: 0) { _ in true }.get().map { String(decoding: $0.key, as: UTF8.self) }
        XCTAssertEqual(keys.sorted(), ["k1", "k2", "k3"])
        // The filter (the partition of the key) applies.
        XCTAssertEqual(versions(backlog.entries(since: base + 3_200_000, partition: 0) { $0.version != base + 3_000_000 }),
                       [base + 2_500_000])
    }

    /// Before the era began copies may be missing: a request reaching below it is refused.
    func testRequestBelowTheEraIsRefused() {
        let backlog = backlog()
        backlog.append(entry("a", version: base + 5), worker: 0)
        XCTAssertEqual(backlog.entries(since: base + 500_000, partition: 0) { _ in true }.failureValue, .init(version: base))
        XCTAssertNotNil(versions(backlog.entries(since: base + 1_000_000, partition: 0) { _ in true }))
    }

    func testOtherPartitionOrNoMasterIsRefused() {
        let backlog = backlog()
        XCTAssertEqual(backlog.entries(since: base + 5_000_000, partition: 1) { _ in true }.failureValue, .init(version: .max))
        backlog.follow(partition: -1, mapVersion: 2, standalone: false, clock: { base + 1 })
        XCTAssertEqual(backlog.entries(since: base + 5_000_000, partition: 0) { _ in true }.failureValue, .init(version: .max))
    }

    /// Becoming master again (a new era) empties the backlog and starts it afresh: a backlog from
    /// an earlier time as master never answers.
    func testNewEraForgetsTheOldOne() {
        let backlog = backlog()
        backlog.append(entry("a", version: base + 2_000_000), worker: 0)
        backlog.follow(partition: -1, mapVersion: 2, standalone: false, clock: { base + 3_000_000 })
        backlog.follow(partition: 0, mapVersion: 3, standalone: false, clock: { base + 4_000_000 })
        XCTAssertEqual(backlog.usage.copies, 0)
        XCTAssertEqual(backlog.entries(since: base + 3_000_000, partition: 0) { _ in true }.failureValue, .init(version: base + 4_000_000))
        // An older map arriving late on a slow worker changes nothing.
        backlog.follow(partition: -1, mapVersion: 2, standalone: false, clock: { base + 5_000_000 })
        XCTAssertEqual(backlog.state.partition, 0)
        // The same partition in a newer map keeps the era.
        backlog.append(entry("b", version: base + 4_500_000), worker: 1)
        backlog.follow(partition: 0, mapVersion: 4, standalone: false, clock: { base + 6_000_000 })
        XCTAssertEqual(versions(backlog.entries(since: base + 5_000_000, partition: 0) { _ in true }), [base + 4_500_000])
    }

    /// Each ring keeps its share of the limit; an evicted copy moves the reach up to its version.
    func testEvictionBoundsTheBytesAndMovesTheReach() {
        let backlog = backlog(limit: 2 * 1000, workers: 2)
        for i in 0..<100 { backlog.append(entry("k\(i)", version: base + UInt64(i) * 100_000, size: 100), worker: 0) }
        let (bytes, copies) = backlog.usage
        XCTAssertLessThanOrEqual(bytes, 1000)
        XCTAssertGreaterThan(copies, 0)
        let oldestKept = base + UInt64(100 - copies) * 100_000
        let evicted = oldestKept - 100_000
        XCTAssertEqual(backlog.entries(since: evicted + 999_999, partition: 0) { _ in true }.failureValue, .init(version: evicted))
        XCTAssertEqual(versions(backlog.entries(since: evicted + 1_000_000, partition: 0) { _ in true })?.first, oldestKept)
    }

    func testRingCompactsWithoutLosingOrder() {
        var ring = ReplicationBacklog.Ring(limit: 200 * 100)
        for i in 0..<5000 { ring.append(entry("k", version: UInt64(i + 1), size: 30)) }
        var kept: [ReplicationBacklog.Entry] = []
        ring.entries(above: 0, into: &kept)
        XCTAssertEqual(kept.count, ring.count)
        XCTAssertEqual(kept.map(\.version), Array(UInt64(5001 - kept.count)...5000))
        XCTAssertEqual(ring.evictedVersion, UInt64(5000 - kept.count))
        XCTAssertLessThan(ring.entries.count, 3 * kept.count + 1024, "the evicted prefix is dropped")
    }

    func testOffRecordsNothing() {
        let backlog = ReplicationBacklog(limit: 0, workers: 2)
        XCTAssertFalse(backlog.enabled)
        backlog.follow(partition: 0, mapVersion: 1, standalone: false, clock: { base })
        XCTAssertEqual(backlog.entries(since: base * 2, partition: 0) { _ in true }.failureValue, .init(version: .max))
    }
}

private extension Result {
    var failureValue: Failure? { if case .failure(let f) = self { f } else { nil } }
}
