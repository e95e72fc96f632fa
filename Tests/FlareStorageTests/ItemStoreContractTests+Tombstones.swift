import XCTest
@testable import FlareStorage

/// Tombstones (`tombstone-retention` > 0): a delete leaves a record that orders later copies
/// whatever the delete-hold cache still remembers, hides the key from every read, and goes
/// once its retention has passed. Each test runs against every engine.
extension ItemStoreContractTests {
    func testTombstonesOutliveTheDeleteHoldCache() throws {
        try forEachEngine {
            let store = try freshStore(deleteHoldCapacity: 1)
            for index in 0..<200 {
                try store.set("k\(index)", "v", version: 1000 + UInt64(index))
                XCTAssertEqual(try store.delete("k\(index)", version: 5000 + UInt64(index)),
                               .deleted(version: 5000 + UInt64(index)))
            }
            XCTAssertEqual(store.itemCount, 0)
            XCTAssertEqual(store.tombstoneCount, 200)
            for index in 0..<200 {
                // A resent copy older than the delete: refused, although the cache holds one key only.
                XCTAssertEqual(try store.set("k\(index)", "stale", version: 1000 + UInt64(index)), .superseded)
                XCTAssertEqual(try store.delete("k\(index)", version: 4000), .superseded)
                XCTAssertNil(try store.item("k\(index)"))
            }
            // Holds survive the cache too.
            try store.set("a", "1")
            try store.set("b", "1")
            guard case .deleted = try store.delete("a", holdUntil: t0 + 100) else { return XCTFail("a not deleted") }
            guard case .deleted = try store.delete("b", holdUntil: t0 + 100) else { return XCTFail("b not deleted") }
            XCTAssertEqual(try store.store(.add, bytes("a"), bytes("2")), .notStored, "a is still held")
            guard case .stored = try store.store(.add, bytes("a"), bytes("2"), now: t0 + 100) else {
                return XCTFail("the hold ended")
            }
        }
    }

    func testATombstoneHidesTheKeyFromEveryRead() throws {
        try forEachEngine {
            let store = try freshStore()
            try store.set("k", "12")
            try store.set("other", "x")
            guard case .deleted(let tombstone) = try store.delete("k") else { return XCTFail("not deleted") }
            XCTAssertNil(try store.item("k"))
            XCTAssertNil(try store.touch("k", expire: t0 + 50))
            XCTAssertEqual(try store.incr("k", 1), .notFound)
            XCTAssertEqual(try store.decr("k", 1), .notFound)
            XCTAssertEqual(try store.store(.append, bytes("k"), bytes("x")), .notStored)
            XCTAssertEqual(try store.store(.prepend, bytes("k"), bytes("x")), .notStored)
            XCTAssertEqual(try store.store(.replace, bytes("k"), bytes("x")), .notStored)
            XCTAssertEqual(try store.store(.cas, bytes("k"), bytes("x"), casUnique: tombstone - 1), .notFound)
            XCTAssertEqual(try store.delete("k"), .notFound, "a local delete of a deleted key")
            XCTAssertEqual(try store.dumpKeys(), [bytes("other")])
            XCTAssertEqual(store.itemCount, 1)
            XCTAssertEqual(store.tombstoneCount, 1)
            // A new write replaces the tombstone, above its version.
            XCTAssertEqual(try store.store(.add, bytes("k"), bytes("new")), .stored(version: tombstone + 1))
            XCTAssertEqual(try store.text("k"), "new")
            XCTAssertEqual(store.itemCount, 2)
            XCTAssertEqual(store.tombstoneCount, 0)
        }
    }

    func testTombstonesArePurgedAfterTheirRetention() throws {
        try forEachEngine {
            let store = try freshStore(tombstoneRetention: 10)
            for index in 0..<50 { _ = try store.delete("k\(index)", version: 500 + UInt64(index)) }
            _ = try store.delete("held", holdUntil: t0 + 30, version: 900)
            XCTAssertEqual(store.tombstoneCount, 51)
            let sweep = store.makeTombstoneSweep()
            XCTAssertEqual(try sweep.step(maxRecords: 1000, now: t0 + 9).purged, 0, "retention not over")
            // Met by a read once due: purged at once.
            XCTAssertNil(try store.item("k0", now: t0 + 10))
            XCTAssertEqual(store.tombstoneCount, 50)
            // The sweep works in bounded steps and ends its pass.
            var purged = 0
            var steps = 0
            while true {
                let step = try sweep.step(maxRecords: 8, now: t0 + 10)
                purged += step.purged
                steps += 1
                if step.passEnded { break }
            }
            XCTAssertEqual(purged, 49)
            XCTAssertGreaterThanOrEqual(steps, 7)
            XCTAssertEqual(store.tombstoneCount, 1, "a held key keeps its tombstone until the hold ends")
            XCTAssertEqual(try store.store(.add, bytes("held"), bytes("x"), now: t0 + 10), .notStored)
            XCTAssertEqual(try sweep.step(maxRecords: 1000, now: t0 + 30).purged, 1)
            XCTAssertEqual(store.tombstoneCount, 0)
            // The purged versions move to the delete-hold cache, which still orders copies while it holds them.
            XCTAssertEqual(try store.set("k1", "stale", version: 400, now: t0 + 30), .superseded)
        }
    }

    func testAnExpiredItemLeavesATombstoneOfItsVersion() throws {
        try forEachEngine {
            let store = try freshStore(deleteHoldCapacity: 1)
            try store.set("k", "v", expire: t0 + 5, version: 100)
            XCTAssertNil(try store.item("k", now: t0 + 5))
            try store.set("x", "v", expire: t0 + 5, version: 200)
            XCTAssertNil(try store.item("x", now: t0 + 5))
            XCTAssertEqual(store.itemCount, 0)
            XCTAssertEqual(store.tombstoneCount, 2)
            XCTAssertEqual(try store.set("k", "older", version: 90, now: t0 + 6), .superseded)
            XCTAssertEqual(try store.set("k", "newer", version: 110, now: t0 + 6), .stored(version: 110))
        }
    }

    func testFlushAllRemovesTombstonesButVersionsGoOn() throws {
        try forEachEngine {
            let store = try freshStore()
            try store.set("k", "v")
            guard case .deleted(let tombstone) = try store.delete("k") else { return XCTFail("not deleted") }
            try store.flushAll()
            XCTAssertEqual(store.tombstoneCount, 0)
            XCTAssertEqual(store.itemCount, 0)
            XCTAssertEqual(try store.set("k", "w"), .stored(version: tombstone + 1))
        }
    }

    func testRetentionZeroRemovesTheRecordAndPurgesOldTombstonesWhenMet() throws {
        try forEachEngine {
            let store = try freshStore(tombstoneRetention: 0)
            try store.set("k", "v", version: 10)
            XCTAssertEqual(try store.delete("k", version: 20), .deleted(version: 20))
            XCTAssertEqual(store.tombstoneCount, 0)
            XCTAssertEqual(try store.set("k", "v", version: 15), .superseded, "the cache remembers it")
        }
    }

    func testTombstoneCountStaysExactUnderConcurrentWritesAndDeletes() throws {
        try forEachEngine {
            let store = try freshStore()
            runConcurrently(4) { thread in
                var random = UInt64(thread + 1) &* 0x9E37_79B9_7F4A_7C15
                for _ in 0..<3000 {
                    random = random &* 6364136223846793005 &+ 1442695040888963407
                    let key = "k\((random >> 33) % 40)"
                    switch (random >> 20) % 5 {
                    case 0, 1: _ = try? store.set(key, "v")
                    case 2: _ = try? store.delete(key)
                    case 3: _ = try? store.delete(key, version: (random >> 40) + 1)
                    default: _ = try? store.set(key, "x", expire: t0 + 1, version: (random >> 40) + 1)
                    }
                }
            }
            // Some items expired meanwhile: reading them turns them into tombstones.
            for index in 0..<40 { _ = try store.item("k\(index)", now: t0 + 1) }
            var tombstones = 0, items = 0
            let cursor = try store.makeRecordCursor()
            while try cursor.next(maxRecords: 100, { _, record in
                if record.header.isTombstone { tombstones += 1 } else { items += 1 }
            }) {}
            XCTAssertEqual(store.tombstoneCount, tombstones)
            XCTAssertEqual(store.itemCount, items)
            XCTAssertGreaterThan(tombstones, 0)
            XCTAssertLessThanOrEqual(tombstones + items, 40)
        }
    }
}
