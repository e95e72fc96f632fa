import XCTest
@testable import FlareStorage

/// Eviction behaviour of the "memory" engine.
final class MemoryEngineTests: XCTestCase {
    private let value = [UInt8](repeating: 7, count: 1000)

    /// One shard makes the LRU order exact and observable.
    func testEvictsTheLeastRecentlyUsedItemFirst() throws {
        let engine = MemoryEngine(limitBytes: 10 * (1000 + 64 + MemoryEntry.headerBytes), shardCount: 1)
        let store = ItemStore(engine: engine)
        for index in 0..<10 { try store.store(.set, bytes("k\(index)"), value) }
        XCTAssertEqual(store.itemCount, 10)
        XCTAssertNotNil(try store.item("k0"), "reading k0 makes it the most recently used")
        try store.store(.set, bytes("k10"), value)
        XCTAssertNil(try store.item("k1"), "k1 is now the least recently used")
        XCTAssertNotNil(try store.item("k0"))
        XCTAssertNotNil(try store.item("k10"))
        XCTAssertEqual(store.itemCount, 10)
        XCTAssertLessThanOrEqual(store.byteSize, engine.limitBytes)
    }

    func testStaysUnderTheCapAcrossShardsAndKeepsRecentItems() throws {
        let limit = 1 << 20
        let store = try ItemStore.open(StorageOptions(type: "memory", dataDir: "", memoryLimitBytes: limit))
        for index in 0..<5000 { try store.store(.set, bytes("key-\(index)"), value) }
        XCTAssertLessThanOrEqual(store.byteSize, limit)
        XCTAssertGreaterThan(store.byteSize, limit / 2)
        XCTAssertLessThan(store.itemCount, 1100)
        XCTAssertGreaterThan(store.itemCount, 400)
        XCTAssertNotNil(try store.item("key-4999"), "the newest item survives")
        XCTAssertNil(try store.item("key-0"), "the oldest item is gone")
        XCTAssertEqual(try store.dumpKeys().count, store.itemCount)
    }

    func testOneItemLargerThanTheCapIsRefused() throws {
        let store = ItemStore(engine: MemoryEngine(limitBytes: 4096, shardCount: 4))
        try store.store(.set, bytes("small"), value)
        XCTAssertThrowsError(try store.store(.set, bytes("huge"), [UInt8](repeating: 1, count: 5000))) { error in
            guard case .itemTooLarge(_, 4096)? = error as? StorageError else { return XCTFail("unexpected \(error)") }
        }
        XCTAssertNotNil(try store.item("small"), "a refused item evicts nothing")
    }

    func testGrowingAnItemEvictsOthersButNeverItself() throws {
        let store = ItemStore(engine: MemoryEngine(limitBytes: 8192, shardCount: 1))
        for index in 0..<5 { try store.store(.set, bytes("k\(index)"), value) }
        try store.store(.set, bytes("grow"), [UInt8](repeating: 2, count: 7000))
        XCTAssertEqual(try store.item("grow")?.value.count, 7000)
        XCTAssertLessThanOrEqual(store.byteSize, 8192)
    }

    func testFlushReleasesAllBytes() throws {
        let store = ItemStore(engine: MemoryEngine(limitBytes: 1 << 20))
        for index in 0..<500 { try store.store(.set, bytes("k\(index)"), value) }
        try store.flushAll()
        XCTAssertEqual(store.byteSize, 0)
        XCTAssertEqual(store.itemCount, 0)
    }
}

/// Tombstones in the memory engine take memory, so they count against the cap and are
/// evicted like items, but never as items (curr_items).
final class MemoryEngineTombstoneTests: XCTestCase {
    func testTombstonesAreEvictedUnderTheCapAndNeverCountAsItems() throws {
        let engine = MemoryEngine(limitBytes: 64 << 10, shardCount: 1)
        let store = ItemStore(engine: engine)
        for index in 0..<5000 { _ = try store.delete("gone-\(index)", version: 100 + UInt64(index)) }
        XCTAssertLessThanOrEqual(store.byteSize, engine.limitBytes)
        XCTAssertEqual(store.itemCount, 0)
        XCTAssertEqual(store.tombstoneCount, engine.recordCount)
        XCTAssertLessThan(store.tombstoneCount, 5000)
        XCTAssertEqual(try store.set("gone-4999", "stale", version: 99), .superseded, "the newest tombstone stays")
        try store.set("live", "v")
        XCTAssertEqual(store.itemCount, 1)
        XCTAssertEqual(store.tombstoneCount, engine.recordCount - 1)
        try store.flushAll()
        XCTAssertEqual(store.tombstoneCount, 0)
        XCTAssertEqual(store.byteSize, 0)
    }
}
