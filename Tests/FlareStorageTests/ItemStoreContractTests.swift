import XCTest
@testable import FlareStorage

/// The item semantics every engine must provide: each test runs once per
/// engine, on a fresh store. (XCTest on Linux does not discover inherited
/// test methods, so the engines are a loop rather than subclasses.)
final class ItemStoreContractTests: XCTestCase {
    enum Engine: String, CaseIterable {
        /// Tkrzw HashDBM in a fresh data directory.
        case tch
        /// Mapped to HashDBM as well (see EngineSelection), through the same open path.
        case tcb
        /// The in-memory LRU engine, with a cap large enough never to evict here.
        case memory
    }

    private var engine = Engine.tch
    private var openStores: [ItemStore] = []

    /// Runs `body` once per engine; failures are prefixed with the engine's name.
    func forEachEngine(_ body: () throws -> Void) throws {
        for engine in Engine.allCases {
            self.engine = engine
            defer { closeStores() }
            do {
                try body()
            } catch {
                XCTFail("engine \(engine): \(error)")
            }
        }
    }

    override func recordFailure(withDescription description: String, inFile filePath: String,
                                atLine lineNumber: Int, expected: Bool) {
        super.recordFailure(withDescription: "[\(engine)] \(description)", inFile: filePath,
                            atLine: lineNumber, expected: expected)
    }

    /// The wall-clock time every fresh store's VersionClock sees unless a test moves it:
    /// a store's first local version is `base`, the next `base + 1`, and so on.
    let base: UInt64 = 1000

    /// A fresh store of the current engine, closed after the engine's run. Its versions
    /// come from `time` (standing at `base` by default).
    func freshStore(deleteHoldCapacity: Int = 65536, tombstoneRetention: Int64 = 3600,
                    time: ManualTime? = nil) throws -> ItemStore {
        let options: StorageOptions
        switch engine {
        case .tch, .tcb:
            options = StorageOptions(type: engine.rawValue, dataDir: try makeTemporaryDirectory(self),
                                     deleteHoldCapacity: deleteHoldCapacity, tombstoneRetention: tombstoneRetention)
        case .memory:
            options = StorageOptions(type: "memory", dataDir: "/nonexistent", memoryLimitBytes: 256 << 20,
                                     deleteHoldCapacity: deleteHoldCapacity, tombstoneRetention: tombstoneRetention)
        }
        let store = try ItemStore.open(options, versions: VersionClock(microseconds: (time ?? ManualTime(base)).read))
        openStores.append(store)
        return store
    }

    private func closeStores() {
        openStores.forEach { $0.close() }
        openStores = []
    }

    // MARK: get / set

    func testSetThenGetReturnsFlagsValueAndVersion() throws {
        try forEachEngine {
            let store = try freshStore()
            XCTAssertNil(try store.item("k"))
            XCTAssertEqual(try store.set("k", "hello", flags: 42, expire: t0 + 100), .stored(version: base))
            let item = try XCTUnwrap(try store.item("k"))
            XCTAssertEqual(item.header, ItemHeader(flags: 42, expire: t0 + 100, version: base))
            XCTAssertEqual(item.value, bytes("hello"))
            XCTAssertEqual(try store.set("k", "world"), .stored(version: base + 1))
            XCTAssertEqual(try store.text("k"), "world")
            XCTAssertEqual(try store.item("k")?.header.flags, 0)
            XCTAssertEqual(store.itemCount, 1)
        }
    }

    func testAddStoresOnlyWhenGone() throws {
        try forEachEngine {
            let store = try freshStore()
            XCTAssertEqual(try store.store(.add, bytes("k"), bytes("a")), .stored(version: base))
            XCTAssertEqual(try store.store(.add, bytes("k"), bytes("b")), .notStored)
            XCTAssertEqual(try store.text("k"), "a")
            try store.set("e", "x", expire: t0 + 5)
            // An expired item counts as gone; a refused add took no version.
            XCTAssertEqual(try store.store(.add, bytes("e"), bytes("y"), now: t0 + 5), .stored(version: base + 2))
        }
    }

    func testReplaceStoresOnlyWhenAlive() throws {
        try forEachEngine {
            let store = try freshStore()
            XCTAssertEqual(try store.store(.replace, bytes("k"), bytes("a")), .notStored)
            XCTAssertNil(try store.item("k"))
            try store.set("k", "a")
            XCTAssertEqual(try store.store(.replace, bytes("k"), bytes("b"), flags: 7), .stored(version: base + 1))
            XCTAssertEqual(try store.item("k")?.header.flags, 7)
            try store.set("e", "x", expire: t0 + 5)
            XCTAssertEqual(try store.store(.replace, bytes("e"), bytes("y"), now: t0 + 5), .notStored)
        }
    }

    func testAppendAndPrependKeepStoredFlagsAndExpiry() throws {
        try forEachEngine {
            let store = try freshStore()
            XCTAssertEqual(try store.store(.append, bytes("k"), bytes("x")), .notStored)
            XCTAssertEqual(try store.store(.prepend, bytes("k"), bytes("x")), .notStored)
            try store.set("k", "middle", flags: 3, expire: t0 + 50)
            XCTAssertEqual(try store.store(.append, bytes("k"), bytes(">>"), flags: 9, expire: t0 + 1), .stored(version: base + 1))
            XCTAssertEqual(try store.store(.prepend, bytes("k"), bytes("<<"), flags: 9, expire: t0 + 1), .stored(version: base + 2))
            let item = try XCTUnwrap(try store.item("k"))
            XCTAssertEqual(String(decoding: item.value, as: UTF8.self), "<<middle>>")
            XCTAssertEqual(item.header, ItemHeader(flags: 3, expire: t0 + 50, version: base + 2))
        }
    }

    func testCasSucceedsOnlyWithTheCurrentVersion() throws {
        try forEachEngine {
            let store = try freshStore()
            XCTAssertEqual(try store.store(.cas, bytes("k"), bytes("a"), casUnique: base), .notFound)
            try store.set("k", "a")
            try store.set("k", "b")
            XCTAssertEqual(try store.store(.cas, bytes("k"), bytes("c"), casUnique: base), .exists)
            // The new version is the clock's next one, not casUnique + 1.
            try store.set("other", "o")
            XCTAssertEqual(try store.store(.cas, bytes("k"), bytes("c"), flags: 5, casUnique: base + 1), .stored(version: base + 3))
            XCTAssertEqual(try store.item("k")?.header, ItemHeader(flags: 5, expire: 0, version: base + 3))
            XCTAssertEqual(try store.store(.cas, bytes("k"), bytes("d"), casUnique: base + 1), .exists)
            try store.set("e", "x", expire: t0 + 5)
            XCTAssertEqual(try store.store(.cas, bytes("e"), bytes("y"), casUnique: base + 4, now: t0 + 5), .notFound)
        }
    }

    /// The binary protocol names the version it expects on append, prepend, delete and incr/decr.
    func testAppendDeleteAndArithmeticWithACasChangeOnlyThatVersion() throws {
        try forEachEngine {
            let store = try freshStore()
            try store.set("k", "1")  // version base
            XCTAssertEqual(try store.store(.append, bytes("k"), bytes("0"), casUnique: base + 7), .exists)
            XCTAssertEqual(try store.store(.append, bytes("k"), bytes("0"), casUnique: base), .stored(version: base + 1))
            XCTAssertEqual(try store.store(.prepend, bytes("k"), bytes("9"), casUnique: base), .exists)
            XCTAssertEqual(try store.text("k"), "10")
            func incr(_ cas: UInt64) throws -> ArithmeticOutcome {
                try bytes("k").withUnsafeBytes { try store.arithmetic($0, delta: 5, increment: true, casUnique: cas, now: t0) }
            }
            XCTAssertEqual(try incr(base), .exists)
            XCTAssertEqual(try incr(base + 1), .value(15, version: base + 2))
            func delete(_ cas: UInt64) throws -> DeleteOutcome {
                try bytes("k").withUnsafeBytes { try store.delete($0, casUnique: cas, now: t0) }
            }
            XCTAssertEqual(try delete(base + 1), .exists)
            XCTAssertEqual(try store.text("k"), "15", "a refused delete leaves the item")
            XCTAssertEqual(try delete(base + 2), .deleted(version: base + 3))
            XCTAssertEqual(try delete(base + 2), .notFound)
        }
    }

    // MARK: delete

    func testDeleteRemovesAliveItemsAndItsTombstoneTakesANewVersion() throws {
        try forEachEngine {
            let store = try freshStore()
            XCTAssertEqual(try store.delete("k"), .notFound)
            try store.set("k", "a")
            try store.set("k", "b")
            XCTAssertEqual(try store.delete("k"), .deleted(version: base + 2))
            XCTAssertNil(try store.item("k"))
            XCTAssertEqual(try store.delete("k"), .notFound, "deleting an absent key takes no version")
            XCTAssertEqual(store.itemCount, 0)
            XCTAssertEqual(try store.set("k", "c"), .stored(version: base + 3))
        }
    }

    func testDeleteOfExpiredItemRemovesItButReportsNotFound() throws {
        try forEachEngine {
            let store = try freshStore()
            try store.set("k", "a", expire: t0 + 5)
            XCTAssertEqual(store.itemCount, 1)
            XCTAssertEqual(try store.delete("k", now: t0 + 5), .notFound)
            XCTAssertEqual(store.itemCount, 0)
        }
    }

    func testDeleteHoldRefusesAddAndReplaceUntilItElapses() throws {
        try forEachEngine {
            let store = try freshStore()
            try store.set("k", "a")
            XCTAssertEqual(try store.delete("k", holdUntil: t0 + 10), .deleted(version: base + 1))
            XCTAssertEqual(try store.store(.add, bytes("k"), bytes("b"), now: t0 + 9), .notStored)
            XCTAssertEqual(try store.store(.replace, bytes("k"), bytes("b"), now: t0 + 9), .notStored)
            XCTAssertEqual(try store.store(.cas, bytes("k"), bytes("b"), casUnique: 7, now: t0 + 9), .exists)
            XCTAssertEqual(try store.store(.add, bytes("k"), bytes("b"), now: t0 + 10), .stored(version: base + 2))

            try store.set("h", "a")
            XCTAssertEqual(try store.delete("h", holdUntil: t0 + 10), .deleted(version: base + 4))
            XCTAssertEqual(try store.set("h", "b", now: t0 + 1), .stored(version: base + 5), "set ignores the hold")
            XCTAssertEqual(try store.delete("h"), .deleted(version: base + 6))
            XCTAssertEqual(try store.store(.add, bytes("h"), bytes("c"), now: t0 + 2), .stored(version: base + 7),
                           "a later delete without a time lifts the hold")
        }
    }

    func testCasOnAHeldKeyComparesTheTombstoneVersion() throws {
        try forEachEngine {
            let store = try freshStore()
            try store.set("k", "a")
            XCTAssertEqual(try store.delete("k", holdUntil: t0 + 10), .deleted(version: base + 1))
            XCTAssertEqual(try store.store(.cas, bytes("k"), bytes("b"), casUnique: base, now: t0 + 1), .exists,
                           "the item's last version no longer matches")
            XCTAssertEqual(try store.store(.cas, bytes("k"), bytes("b"), casUnique: base + 1, now: t0 + 1),
                           .stored(version: base + 2))
            XCTAssertEqual(try store.text("k", now: t0 + 1), "b")
        }
    }

    func testReplicatedDeleteRemovesOnlyAnOlderItem() throws {
        try forEachEngine {
            let store = try freshStore()
            try store.set("k", "a", version: 10)
            XCTAssertEqual(try store.delete("k", version: 9), .superseded)
            XCTAssertEqual(try store.delete("k", version: 10), .superseded, "a delete is never the item's own version")
            XCTAssertEqual(try store.text("k"), "a")
            XCTAssertEqual(try store.delete("k", version: 11), .deleted(version: 11))
            XCTAssertNil(try store.item("k"))
            XCTAssertEqual(try store.delete("k", version: 11), .superseded, "a repeated delete is idempotent")
            XCTAssertEqual(try store.set("k", "old", version: 10), .superseded)
            XCTAssertNil(try store.item("k"))
        }
    }

    func testReplicatedDeleteOfAnAbsentKeyOrdersLaterWrites() throws {
        try forEachEngine {
            let store = try freshStore()
            XCTAssertEqual(try store.delete("n", version: 20), .notFound)
            XCTAssertEqual(try store.delete("n", version: 19), .superseded)
            XCTAssertEqual(try store.set("n", "x", version: 20), .superseded)
            XCTAssertEqual(try store.set("n", "x", version: 21), .stored(version: 21))
        }
    }

    func testLiveDeleteBeforeAnOlderDumpedCopyKeepsTheKeyAbsent() throws {
        try forEachEngine {
            // A slave being rebuilt: the master's live delete (version 500) arrives before the dump
            // reaches the key's older copy (version 400).
            let store = try freshStore()
            XCTAssertEqual(try store.delete("k", version: 500), .notFound)
            XCTAssertEqual(try store.store(.set, bytes("k"), bytes("stale"), version: 400), .superseded)
            XCTAssertNil(try store.item("k"))
            XCTAssertEqual(store.itemCount, 0)
            // A live delete of a key the slave already holds: the same, through the removal.
            try store.set("j", "v", version: 300)
            XCTAssertEqual(try store.delete("j", version: 600), .deleted(version: 600))
            XCTAssertEqual(try store.set("j", "v", version: 300), .superseded)
            XCTAssertNil(try store.item("j"))
        }
    }

    func testReplicatedSetOlderThanALocalTombstoneIsSuperseded() throws {
        try forEachEngine {
            let store = try freshStore()
            XCTAssertEqual(try store.set("k", "a"), .stored(version: base))
            XCTAssertEqual(try store.delete("k"), .deleted(version: base + 1))
            XCTAssertEqual(try store.set("k", "a", version: base), .superseded)
            XCTAssertEqual(try store.set("k", "a", version: base + 1), .superseded, "equal to the tombstone")
            XCTAssertNil(try store.item("k"))
            XCTAssertEqual(try store.set("k", "b", version: base + 2), .stored(version: base + 2))
            XCTAssertEqual(try store.text("k"), "b")
        }
    }

    func testWithoutRetentionTheDeleteHoldCacheIsBounded() throws {
        try forEachEngine {
            let store = try freshStore(deleteHoldCapacity: 1, tombstoneRetention: 0)
            try store.set("a", "1")
            try store.set("b", "1")
            XCTAssertEqual(try store.delete("a", holdUntil: t0 + 100), .deleted(version: base + 2))
            XCTAssertEqual(try store.delete("b", holdUntil: t0 + 100), .deleted(version: base + 3))
            XCTAssertEqual(try store.store(.add, bytes("a"), bytes("2")), .stored(version: base + 4), "a's hold was evicted by b's")
            XCTAssertEqual(try store.store(.add, bytes("b"), bytes("2")), .notStored)
        }
    }

    // MARK: replication versions

    func testSuppliedVersionMustBeNewerThanTheStoredItem() throws {
        try forEachEngine {
            let store = try freshStore()
            XCTAssertEqual(try store.set("k", "a", version: 5), .stored(version: 5))
            XCTAssertEqual(try store.set("k", "b", version: 5), .superseded, "an equal version is idempotent")
            XCTAssertEqual(try store.set("k", "b", version: 4), .superseded)
            XCTAssertEqual(try store.store(.append, bytes("k"), bytes("x"), version: 3), .superseded)
            XCTAssertEqual(try store.text("k"), "a")
            XCTAssertEqual(try store.store(.add, bytes("k"), bytes("x"), version: 7), .notStored,
                           "add's own refusal is not a superseded copy")
            XCTAssertEqual(try store.set("k", "c", version: 9), .stored(version: 9))
            XCTAssertEqual(try store.item("k")?.header.version, 9)
            XCTAssertEqual(try store.set("k", "d"), .stored(version: base))
            try store.set("e", "x", expire: t0 + 5, version: 50)
            XCTAssertEqual(try store.set("e", "y", version: 3, now: t0 + 5), .superseded,
                           "an expired item's version still orders replicated writes")
            XCTAssertEqual(try store.set("e", "y", version: 51, now: t0 + 5), .stored(version: 51))
        }
    }

    func testAppliedVersionsAreObservedByTheClock() throws {
        try forEachEngine {
            // A slave promoted to master continues above every version it applied, even ones
            // ahead of its own wall clock.
            let store = try freshStore()
            XCTAssertEqual(try store.set("a", "x", version: 5000), .stored(version: 5000))
            XCTAssertEqual(try store.set("b", "y"), .stored(version: 5001))
            XCTAssertEqual(try store.delete("c", version: 7000), .notFound)
            XCTAssertEqual(try store.set("d", "z"), .stored(version: 7001))
            XCTAssertEqual(store.versions.current, 7001)
        }
    }

    func testEveryKeyGetsItsOwnCasUnique() throws {
        try forEachEngine {
            let store = try freshStore()
            var seen: Set<UInt64> = []
            for index in 0..<50 {
                guard case .stored(let version) = try store.set("k\(index % 5)", "v") else { return XCTFail("not stored") }
                XCTAssertTrue(seen.insert(version).inserted, "version \(version) issued twice")
            }
            XCTAssertNotEqual(try store.item("k0")?.header.version, try store.item("k1")?.header.version)
        }
    }

    func testVersionsFollowTheWallClockAndNeverGoBack() throws {
        try forEachEngine {
            let time = ManualTime(1_000_000)
            let store = try freshStore(time: time)
            XCTAssertEqual(try store.set("k", "a"), .stored(version: 1_000_000))
            time.set(2_000_000)
            XCTAssertEqual(try store.set("j", "a"), .stored(version: 2_000_000))
            time.set(1_500_000)   // the system clock stepped back
            XCTAssertEqual(try store.set("k", "b"), .stored(version: 2_000_001))
        }
    }

    // MARK: incr / decr

    func testIncrAndDecr() throws {
        try forEachEngine {
            let store = try freshStore()
            XCTAssertEqual(try store.incr("n", 1), .notFound)
            try store.set("n", "10", flags: 4, expire: t0 + 100)
            XCTAssertEqual(try store.incr("n", 5), .value(15, version: base + 1))
            XCTAssertEqual(try store.decr("n", 6), .value(9, version: base + 2))
            XCTAssertEqual(try store.text("n"), "9")
            XCTAssertEqual(try store.item("n")?.header, ItemHeader(flags: 4, expire: t0 + 100, version: base + 2))
            XCTAssertEqual(try store.decr("n", 100), .value(0, version: base + 3), "decr stops at zero")
            XCTAssertEqual(try store.text("n"), "0")
            try store.set("big", "100")
            XCTAssertEqual(try store.decr("big", 1), .value(99, version: base + 5))
            XCTAssertEqual(try store.text("big"), "99")
        }
    }

    func testIncrWrapsAtTwoToTheSixtyFour() throws {
        try forEachEngine {
            let store = try freshStore()
            try store.set("max", "18446744073709551615")
            XCTAssertEqual(try store.incr("max", 0), .value(UInt64.max, version: base + 1), "20 digits are accepted")
            XCTAssertEqual(try store.incr("max", 2), .value(1, version: base + 2))
            XCTAssertEqual(try store.text("max"), "1")
            try store.set("m", "18446744073709551610")
            XCTAssertEqual(try store.incr("m", UInt64.max), .value(18446744073709551609, version: base + 4))
        }
    }

    func testArithmeticOnNonNumericValues() throws {
        try forEachEngine {
            let store = try freshStore()
            for text in ["", "abc", "12abc", "-1", "18446744073709551616", "99999999999999999999999"] {
                try store.set("x", text)
                XCTAssertEqual(try store.incr("x", 1), .nonNumeric, "value \"\(text)\"")
                XCTAssertEqual(try store.text("x"), text, "a non-numeric value stays")
            }
            try store.set("s", " 41 ")
            guard case .value(42, let version) = try store.incr("s", 1) else {
                return XCTFail("whitespace around the number is allowed")
            }
            XCTAssertEqual(try store.item("s")?.header.version, version)
            try store.set("e", "5", expire: t0 + 5)
            XCTAssertEqual(try store.incr("e", 1, now: t0 + 5), .notFound)
            XCTAssertEqual(store.itemCount, 2, "the expired item was removed")
        }
    }

    // MARK: touch and expiry

    func testTouchChangesTheExpiryAndTheVersion() throws {
        try forEachEngine {
            let store = try freshStore()
            XCTAssertNil(try store.touch("k", expire: t0 + 10))
            try store.set("k", "v", flags: 2, expire: t0 + 5)
            let touched = try XCTUnwrap(try store.touch("k", expire: t0 + 100, now: t0 + 1))
            XCTAssertEqual(touched.header, ItemHeader(flags: 2, expire: t0 + 100, version: base + 1),
                           "the body sees the new header")
            XCTAssertEqual(touched.value, bytes("v"))
            XCTAssertEqual(try store.item("k", now: t0 + 50)?.header, touched.header)
            // A replicated copy of the item from before the touch is older than the touch.
            XCTAssertEqual(try store.set("k", "v", flags: 2, expire: t0 + 5, version: base, now: t0 + 1), .superseded)
            XCTAssertEqual(try store.item("k", now: t0 + 50)?.header.expire, t0 + 100)
            XCTAssertNil(try store.touch("k", expire: t0 + 500, now: t0 + 100), "an expired item cannot be touched")
            XCTAssertNil(try store.item("k", now: t0 + 1))
        }
    }

    func testItemsExpireAtTheirExpiryTime() throws {
        try forEachEngine {
            let store = try freshStore()
            try store.set("k", "v", expire: t0 + 10)
            try store.set("forever", "v", expire: 0)
            XCTAssertNotNil(try store.item("k", now: t0 + 9))
            XCTAssertNil(try store.item("k", now: t0 + 10))
            XCTAssertNotNil(try store.item("forever", now: Int64(Int32.max)))
            XCTAssertEqual(store.itemCount, 1, "the expired item was removed when read")
            XCTAssertEqual(try store.set("k", "w", now: t0 + 10), .stored(version: base + 2))
        }
    }

    // MARK: flush_all

    func testFlushAllRemovesItemsAndHoldsButKeepsTheClock() throws {
        try forEachEngine {
            let store = try freshStore()
            for index in 0..<100 { try store.set("k\(index)", "v") }
            try store.set("held", "v")
            XCTAssertEqual(try store.delete("held", holdUntil: t0 + 100), .deleted(version: base + 101))
            try store.flushAll()
            XCTAssertEqual(store.itemCount, 0)
            XCTAssertNil(try store.item("k1"))
            XCTAssertEqual(try store.store(.add, bytes("held"), bytes("v")), .stored(version: base + 102))
            XCTAssertEqual(try store.set("k1", "again"), .stored(version: base + 103))
            XCTAssertEqual(try store.dumpKeys().count, 2)
        }
    }

    func testCasWithAUniqueFromBeforeFlushAllFails() throws {
        try forEachEngine {
            let store = try freshStore()
            guard case .stored(let before) = try store.set("k", "v") else { return XCTFail("not stored") }
            try store.flushAll()
            XCTAssertEqual(try store.store(.cas, bytes("k"), bytes("w"), casUnique: before), .notFound)
            try store.set("k", "again")
            XCTAssertNotEqual(try store.item("k")?.header.version, before)
            XCTAssertEqual(try store.store(.cas, bytes("k"), bytes("w"), casUnique: before), .exists)
            XCTAssertEqual(try store.text("k"), "again")
        }
    }

    func testCasWithAUniqueFromBeforeAForgottenDeleteFails() throws {
        try forEachEngine {
            // The tombstone of "a" is evicted by b's; versions must not restart for "a".
            let store = try freshStore(deleteHoldCapacity: 1)
            guard case .stored(let before) = try store.set("a", "v") else { return XCTFail("not stored") }
            _ = try store.delete("a")
            try store.set("b", "v")
            _ = try store.delete("b")
            try store.set("a", "again")
            XCTAssertEqual(try store.store(.cas, bytes("a"), bytes("w"), casUnique: before), .exists)
        }
    }

    // MARK: cursor

    func testCursorVisitsEveryStableItemExactlyOnceWhileOthersChange() throws {
        try forEachEngine {
            let store = try freshStore()
            let stable = (0..<3000).map { "stable-\($0)" }
            for key in stable { try store.set(key, "v") }
            for index in 0..<500 { try store.set("volatile-\(index)", "v") }
            try store.set("expired", "v", expire: t0 - 1)
            var round = 0
            let seen = try store.dumpKeys(batch: 37) {
                // Rewrite stable items (with a different size), delete and add others.
                for step in 0..<20 {
                    let index = round * 20 + step
                    try store.set(stable[index % stable.count], String(repeating: "w", count: index % 50))
                    _ = try store.delete("volatile-\(index % 500)")
                    try store.set("new-\(index)", "v")
                }
                round += 1
            }
            var counts: [String: Int] = [:]
            for key in seen { counts[String(decoding: key, as: UTF8.self), default: 0] += 1 }
            for key in stable { XCTAssertEqual(counts[key], 1, "\(key) must be visited exactly once") }
            XCTAssertNil(counts["expired"], "expired items are skipped")
            XCTAssertTrue(counts.values.allSatisfy { $0 == 1 }, "no item is visited twice")
            XCTAssertGreaterThan(round, 10)
        }
    }

    func testCursorOnEmptyStoreFinishesAndDeliversValues() throws {
        try forEachEngine {
            let store = try freshStore()
            XCTAssertEqual(try store.dumpKeys(), [])
            try store.set("k", "value", flags: 8, expire: t0 + 9)
            let cursor = try store.makeCursor()
            var items: [(String, ItemHeader, String)] = []
            while try cursor.next(maxItems: 1, now: t0, { key, header, value in
                items.append((String(decoding: key, as: UTF8.self), header, String(decoding: value, as: UTF8.self)))
            }) {}
            XCTAssertEqual(items.count, 1)
            XCTAssertEqual(items.first?.0, "k")
            XCTAssertEqual(items.first?.1, ItemHeader(flags: 8, expire: t0 + 9, version: base))
            XCTAssertEqual(items.first?.2, "value")
            XCTAssertFalse(try cursor.next(maxItems: 10, now: t0) { _, _, _ in XCTFail("finished cursor visited an item") })
        }
    }

    // MARK: sizes and bytes

    func testBigValues() throws {
        try forEachEngine {
            let store = try freshStore()
            let big = (0..<(5 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            XCTAssertEqual(try store.store(.set, bytes("big"), big), .stored(version: base))
            XCTAssertEqual(try store.item("big")?.value, big)
            XCTAssertEqual(try store.store(.append, bytes("big"), [1, 2, 3]), .stored(version: base + 1))
            XCTAssertEqual(try store.item(bytes("big"))?.value.count, (5 << 20) + 3)
            XCTAssertEqual(try store.item(bytes("big"))?.value.suffix(3), [1, 2, 3])
            XCTAssertGreaterThan(store.byteSize, 5 << 20)
            // Small writes after a large one on the same thread are unaffected.
            try store.set("small", "s")
            XCTAssertEqual(try store.text("small"), "s")
        }
    }

    func testEmptyValues() throws {
        try forEachEngine {
            let store = try freshStore()
            XCTAssertEqual(try store.set("k", ""), .stored(version: base))
            let item = try XCTUnwrap(try store.item("k"))
            XCTAssertEqual(item.value, [])
            XCTAssertEqual(try store.store(.append, bytes("k"), []), .stored(version: base + 1))
            XCTAssertEqual(try store.store(.append, bytes("k"), bytes("x")), .stored(version: base + 2))
            XCTAssertEqual(try store.text("k"), "x")
        }
    }

    func testBinaryKeysAndValuesWithNulBytes() throws {
        try forEachEngine {
            let store = try freshStore()
            let key: [UInt8] = [0, 1, 0, 255, 0]
            let otherKey: [UInt8] = [0, 1, 0, 255, 1]
            let value: [UInt8] = [0, 0, 13, 10, 0, 200]
            XCTAssertEqual(try store.store(.set, key, value), .stored(version: base))
            XCTAssertEqual(try store.store(.set, otherKey, [9]), .stored(version: base + 1))
            XCTAssertEqual(try store.item(key)?.value, value)
            XCTAssertEqual(try store.item(otherKey)?.value, [9])
            XCTAssertNil(try store.item([0, 1, 0, 255]))
            XCTAssertEqual(Set(try store.dumpKeys()), Set([key, otherKey]))
        }
    }

    func testLongKeys() throws {
        try forEachEngine {
            let store = try freshStore()
            let key = (0..<8000).map { UInt8(97 + $0 % 26) }
            var other = key
            other[7999] = 0
            XCTAssertEqual(try store.store(.set, key, bytes("long")), .stored(version: base))
            XCTAssertEqual(try store.item(key)?.value, bytes("long"))
            XCTAssertNil(try store.item(other))
            XCTAssertEqual(try store.dumpKeys(), [key])
        }
    }

    // MARK: concurrency

    func testConcurrentIncrementsAreNotLost() throws {
        try forEachEngine {
            let store = try freshStore()
            try store.set("counter", "0")
            let threads = 4
            let perThread = 2500
            runConcurrently(threads) { _ in
                for _ in 0..<perThread { _ = try? store.incr("counter", 1) }
            }
            XCTAssertEqual(try store.text("counter"), "\(threads * perThread)")
            // One version per write, each the clock's next: none lost, none repeated.
            XCTAssertEqual(try store.item("counter")?.header.version, base + UInt64(threads * perThread))
        }
    }

    func testCasRacesHaveExactlyOneWinner() throws {
        try forEachEngine {
            let store = try freshStore()
            try store.set("race", "start")
            final class Tally: @unchecked Sendable {
                let lock = NSLock()
                var wins = 0
                func win() { lock.withLock { wins += 1 } }
            }
            for round in 0..<40 {
                let version = try XCTUnwrap(try store.item("race")?.header.version)
                let tally = Tally()
                runConcurrently(4) { thread in
                    if case .stored? = try? store.store(.cas, bytes("race"), bytes("\(round)-\(thread)"), casUnique: version) {
                        tally.win()
                    }
                }
                XCTAssertEqual(tally.wins, 1, "round \(round)")
                XCTAssertEqual(try store.item("race")?.header.version, version + 1, "losers take no version")
            }
        }
    }

    func testConcurrentWritersAndReadersOnManyKeys() throws {
        try forEachEngine {
            let store = try freshStore()
            runConcurrently(4) { thread in
                for index in 0..<2000 {
                    let key = "t\(thread)-\(index % 300)"
                    _ = try? store.set(key, "\(index)")
                    if let text = try? store.text(key) { precondition(!text.isEmpty) }
                    if index % 7 == 0 { _ = try? store.delete(key) }
                }
            }
            for thread in 0..<4 {
                // Index 1999 was the last write of key 299 - 1999 % 7 != 0, so it stays.
                XCTAssertEqual(try store.text("t\(thread)-\(1999 % 300)"), "1999")
            }
        }
    }

    // MARK: life cycle

    func testClosedStoreRefusesCallsAndCloseIsIdempotent() throws {
        try forEachEngine {
            let store = try freshStore()
            try store.set("k", "v")
            store.close()
            store.close()
            XCTAssertThrowsError(try store.item("k")) { error in
                guard case .closed? = error as? StorageError else { return XCTFail("unexpected \(error)") }
            }
        }
    }
}
