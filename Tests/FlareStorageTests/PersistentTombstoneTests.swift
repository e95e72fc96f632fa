import CTkrzw
import Foundation
import XCTest
@testable import FlareStorage

/// Tombstones in the Tkrzw engine's file: they survive a restart (clean or not), and
/// data files written before tombstones existed still load.
final class PersistentTombstoneTests: XCTestCase {
    private func open(_ dir: String) throws -> ItemStore {
        try ItemStore.open(StorageOptions(dataDir: dir, deleteHoldCapacity: 16))
    }

    func testTombstonesSurviveARestartWithATinyDeleteHoldCache() throws {
        let dir = try makeTemporaryDirectory(self)
        let first = try open(dir)
        for index in 0..<300 {
            try first.set("k\(index)", "v", version: 1000 + UInt64(index))
            XCTAssertEqual(try first.delete("k\(index)", version: 2000 + UInt64(index)), .deleted(version: 2000 + UInt64(index)))
        }
        try first.set("kept", "v", version: 1)
        first.close()
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/flare.tombstones"))

        let second = try open(dir)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/flare.tombstones"),
                       "the saved count is taken on open, so a crash cannot leave it stale")
        XCTAssertEqual(second.tombstoneCount, 300)
        XCTAssertEqual(second.itemCount, 1)
        for index in 0..<300 {
            // What a stream resends after the restart: copies older than the deletes.
            XCTAssertEqual(try second.set("k\(index)", "stale", version: 1000 + UInt64(index)), .superseded)
            XCTAssertNil(try second.item("k\(index)"))
        }
        XCTAssertEqual(try second.dumpKeys(), [bytes("kept")])
        second.close()
    }

    func testAfterACrashTheTombstonesAreCountedAgain() throws {
        let dir = try makeTemporaryDirectory(self)
        let first = try open(dir)
        for index in 0..<40 { _ = try first.delete("k\(index)", version: 500 + UInt64(index)) }
        try first.set("kept", "v")
        first.close()
        // A kill -9 leaves no saved count.
        try FileManager.default.removeItem(atPath: dir + "/flare.tombstones")
        let second = try open(dir)
        defer { second.close() }
        XCTAssertEqual(second.tombstoneCount, 40)
        XCTAssertEqual(second.itemCount, 1)
        XCTAssertEqual(try second.set("k3", "stale", version: 400), .superseded)
    }

    func testRecordsWithoutTheTombstoneBitLoadAsItems() throws {
        let dir = try makeTemporaryDirectory(self)
        let path = dir + "/flare.tkh"
        try ItemStore.open(StorageOptions(dataDir: dir)).close()
        try? FileManager.default.removeItem(atPath: dir + "/flare.tombstones")
        // A record as an earlier build wrote it: flags 7, no expiry, size 5, version 42, "hello".
        var record = [UInt8](repeating: 0, count: RecordLayout.headerSize + 5)
        record.withUnsafeMutableBytes { buffer in
            buffer.storeBytes(of: UInt32(7).littleEndian, toByteOffset: 0, as: UInt32.self)
            buffer.storeBytes(of: UInt64(5).littleEndian, toByteOffset: 12, as: UInt64.self)
            buffer.storeBytes(of: UInt64(42).littleEndian, toByteOffset: 20, as: UInt64.self)
        }
        record.replaceSubrange(RecordLayout.headerSize..., with: bytes("hello"))
        let dbm = try XCTUnwrap(tkrzw_dbm_open(path, true, "dbm=HashDBM"))
        record.withUnsafeBytes { value in
            XCTAssertTrue(tkrzw_dbm_set(dbm, "old", 3, value.baseAddress!.assumingMemoryBound(to: CChar.self),
                                        Int32(value.count), true))
        }
        XCTAssertTrue(tkrzw_dbm_close(dbm))

        let store = try ItemStore.open(StorageOptions(dataDir: dir))
        defer { store.close() }
        let item = try XCTUnwrap(try store.item("old"))
        XCTAssertEqual(item.header, ItemHeader(flags: 7, expire: 0, version: 42))
        XCTAssertEqual(item.value, bytes("hello"))
        XCTAssertEqual(store.itemCount, 1)
        XCTAssertEqual(store.tombstoneCount, 0)
    }

    func testTheLayoutRoundTripsBothKinds() {
        var buffer = [UInt8](repeating: 0, count: RecordLayout.headerSize)
        let tombstone = ItemHeader.tombstone(version: 99, holdUntil: t0 + 5, now: t0)
        buffer.withUnsafeMutableBytes { RecordLayout.encode(tombstone, dataSize: 0, into: $0.baseAddress!) }
        let decoded = buffer.withUnsafeBytes { RecordLayout.decode($0)?.header }
        XCTAssertEqual(decoded, tombstone)
        XCTAssertEqual(decoded?.flags, UInt32(t0))
        XCTAssertTrue(buffer.withUnsafeBytes { RecordLayout.isTombstone($0) })
        let item = ItemHeader(flags: 3, expire: 0, version: 98)
        buffer.withUnsafeMutableBytes { RecordLayout.encode(item, dataSize: 0, into: $0.baseAddress!) }
        XCTAssertEqual(buffer.withUnsafeBytes { RecordLayout.decode($0)?.header }, item)
    }
}
