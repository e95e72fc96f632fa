import XCTest
@testable import FlareStorage

/// The meta commands' conditional writes (ItemStore+Meta): compared with the item's version inside
/// the engine's update, on every engine.
extension ItemStoreContractTests {
    func testGuardedDeleteAndArithmeticCompareTheVersion() throws {
        try forEachEngine {
            let store = try freshStore()
            try store.set("n", "10")                                        // version base
            let key = bytes("n")
            try key.withUnsafeBytes { key in
                XCTAssertEqual(try store.arithmetic(key, delta: 5, increment: true, ifVersion: base + 7, now: t0), .mismatch)
                XCTAssertEqual(try store.arithmetic(key, delta: 5, increment: true, ifVersion: base, now: t0),
                               .ran(.value(15, version: base + 1)))
                XCTAssertEqual(try store.delete(key, ifVersion: base, now: t0), .mismatch)
                XCTAssertEqual(try store.delete(key, ifVersion: base + 1, now: t0), .ran(.deleted(version: base + 2)))
                XCTAssertEqual(try store.delete(key, ifVersion: base + 1, now: t0), .ran(.notFound))
                XCTAssertEqual(try store.arithmetic(key, delta: 1, increment: true, ifVersion: base, now: t0), .ran(.notFound))
            }
        }
    }

    func testBumpGivesANewVersionAndKeepsOrSetsTheExpiry() throws {
        try forEachEngine {
            let store = try freshStore()
            try store.set("k", "v", flags: 3, expire: t0 + 100)            // version base
            try bytes("k").withUnsafeBytes { key in
                XCTAssertEqual(try store.bump(key, expire: nil, now: t0), .ran(ItemHeader(flags: 3, expire: t0 + 100, version: base + 1)))
                XCTAssertEqual(try store.bump(key, expire: t0 + 5, ifVersion: base, now: t0), .mismatch)
                XCTAssertEqual(try store.bump(key, expire: t0 + 5, ifVersion: base + 1, now: t0),
                               .ran(ItemHeader(flags: 3, expire: t0 + 5, version: base + 2)))
                XCTAssertEqual(try store.text("k", now: t0 + 4), "v")
                XCTAssertEqual(try store.bump(key, expire: nil, now: t0 + 5), .ran(nil))   // expired
            }
        }
    }

    func testCasUniqueGuardsReplaceAppendAndPrepend() throws {
        try forEachEngine {
            let store = try freshStore()
            try store.set("k", "b")                                         // version base
            XCTAssertEqual(try store.store(.append, bytes("k"), bytes("c"), casUnique: base + 9), .exists)
            XCTAssertEqual(try store.store(.prepend, bytes("k"), bytes("a"), casUnique: base), .stored(version: base + 1))
            XCTAssertEqual(try store.store(.replace, bytes("k"), bytes("x"), casUnique: base), .exists)
            XCTAssertEqual(try store.store(.append, bytes("k"), bytes("c"), casUnique: base + 1), .stored(version: base + 2))
            XCTAssertEqual(try store.text("k"), "abc")
            XCTAssertEqual(try store.store(.replace, bytes("gone"), bytes("x"), casUnique: base), .notStored)
        }
    }
}
