import CTkrzw
import Foundation
import XCTest
@testable import FlareStorage

/// Opening, locking and reopening the Tkrzw-backed store.
final class PersistentStoreTests: XCTestCase {
    func testReopenAfterCloseRestoresEveryItem() throws {
        let dir = try makeTemporaryDirectory(self)
        let first = try ItemStore.open(StorageOptions(dataDir: dir))
        var versions: [UInt64] = []
        for index in 0..<2000 {
            let outcome = try first.set("k\(index)", "value-\(index)", flags: UInt32(index), expire: index % 2 == 0 ? 0 : t0 + 1000)
            guard case .stored(let version) = outcome else { return XCTFail("k\(index): \(outcome)") }
            versions.append(version)
        }
        guard case .stored(let rewritten) = try first.set("k7", "rewritten") else { return XCTFail("k7 not stored") }
        XCTAssertGreaterThan(rewritten, versions[7])
        guard case .deleted = try first.delete("k8") else { return XCTFail("k8 not deleted") }
        first.close()

        let second = try ItemStore.open(StorageOptions(dataDir: dir))
        defer { second.close() }
        XCTAssertEqual(second.itemCount, 1999)
        XCTAssertEqual(try second.text("k7"), "rewritten")
        XCTAssertEqual(try second.item("k7")?.header.version, rewritten)
        XCTAssertNil(try second.item("k8"))
        for index in [0, 1, 1234, 1999] {
            let item = try XCTUnwrap(try second.item("k\(index)"))
            XCTAssertEqual(item.value, bytes("value-\(index)"))
            XCTAssertEqual(item.header, ItemHeader(flags: UInt32(index), expire: index % 2 == 0 ? 0 : t0 + 1000,
                                                   version: versions[index]))
        }
        XCTAssertEqual(try second.dumpKeys(batch: 500).count, 1999)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/flare.tkh"))
        XCTAssertGreaterThan(second.byteSize, 0)
    }

    func testVersionsGrowAcrossReopenWithoutAPersistedCounter() throws {
        let dir = try makeTemporaryDirectory(self)
        let first = try ItemStore.open(StorageOptions(dataDir: dir))
        guard case .stored(let old) = try first.set("k", "v") else { return XCTFail("not stored") }
        guard case .deleted(let tombstone) = try first.delete("k") else { return XCTFail("not deleted") }
        try first.set("kept", "v")
        let last = first.versions.current
        first.close()

        // The new store's clock starts from the wall clock, above every version of the first run.
        let second = try ItemStore.open(StorageOptions(dataDir: dir))
        defer { second.close() }
        guard case .stored(let again) = try second.set("k", "w") else { return XCTFail("not stored") }
        guard case .stored(let other) = try second.set("new", "w") else { return XCTFail("not stored") }
        XCTAssertGreaterThan(again, tombstone)
        XCTAssertGreaterThan(other, last)
        XCTAssertEqual(try second.store(.cas, bytes("k"), bytes("x"), casUnique: old), .exists)
        let touched = try second.touch("kept", expire: 0)
        XCTAssertGreaterThan(try XCTUnwrap(touched).header.version, last)
    }

    func testASecondOpenOfTheSameDirectoryFailsWithTheLockHolder() throws {
        let dir = try makeTemporaryDirectory(self)
        let first = try ItemStore.open(StorageOptions(dataDir: dir))
        XCTAssertThrowsError(try ItemStore.open(StorageOptions(type: "kch", dataDir: dir))) { error in
            guard let error = error as? StorageError else { return XCTFail("unexpected \(error)") }
            XCTAssertEqual(error, .locked(path: dir + "/flare.lock", ownerPID: getpid()))
            XCTAssertTrue(error.description.contains(dir + "/flare.lock"), error.description)
            XCTAssertTrue(error.description.contains("process \(getpid())"), error.description)
        }
        first.close()
        let second = try ItemStore.open(StorageOptions(dataDir: dir))
        second.close()
    }

    func testUnsupportedTypeNamesTheAcceptedOnes() {
        XCTAssertThrowsError(try ItemStore.open(StorageOptions(type: "tcx", dataDir: "/tmp"))) { error in
            XCTAssertEqual(error as? StorageError, .unsupportedType("tcx"))
            XCTAssertTrue("\(error)".contains("tch, tcb, kch and memory"), "\(error)")
        }
    }

    func testUnwritableDataDirectoryFailsWithItsPath() {
        XCTAssertThrowsError(try ItemStore.open(StorageOptions(dataDir: "/proc/flare-no-such-dir"))) { error in
            guard case .openFailed(let path, _)? = error as? StorageError else { return XCTFail("unexpected \(error)") }
            XCTAssertEqual(path, "/proc/flare-no-such-dir")
        }
    }

    func testMappingNotesDescribeTheEngineAndLegacyFiles() throws {
        let dir = try makeTemporaryDirectory(self)
        XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/flare.bdb", contents: Data()))
        let tcb = try ItemStore.open(StorageOptions(type: "tcb", dataDir: dir))
        let note = try XCTUnwrap(tcb.mappingNote)
        XCTAssertTrue(note.contains("tcb") && note.contains("HashDBM"), note)
        XCTAssertTrue(note.contains("flare.bdb"), note)
        tcb.close()
        let memory = try ItemStore.open(StorageOptions(type: "memory", dataDir: dir))
        XCTAssertNil(memory.mappingNote)
    }

    func testACursorMayOutliveItsStore() throws {
        let store = try ItemStore.open(StorageOptions(dataDir: try makeTemporaryDirectory(self)))
        try store.set("k", "v")
        var cursor: ItemCursor? = try store.makeCursor()
        store.close()
        XCTAssertThrowsError(try cursor?.next(maxItems: 1, now: t0) { _, _, _ in })
        cursor = nil
    }

    func testCorruptRecordIsReportedAsAnIOErrorNamingTheFile() throws {
        let dir = try makeTemporaryDirectory(self)
        let path = dir + "/flare.tkh"
        try ItemStore.open(StorageOptions(dataDir: dir)).close()
        // A record written behind the store's back, too short for a flare header.
        let dbm = try XCTUnwrap(tkrzw_dbm_open(path, true, "dbm=HashDBM"))
        XCTAssertTrue(tkrzw_dbm_set(dbm, "bad", 3, "xyz", 3, true))
        XCTAssertTrue(tkrzw_dbm_close(dbm))

        let store = try ItemStore.open(StorageOptions(dataDir: dir))
        defer { store.close() }
        let checkError = { (error: Error) in
            guard case .io(let errorPath, let detail)? = error as? StorageError else { return XCTFail("unexpected \(error)") }
            XCTAssertEqual(errorPath, path)
            XCTAssertTrue(detail.contains("not a flare record"), detail)
        }
        XCTAssertThrowsError(try store.item("bad"), "get", checkError)
        XCTAssertThrowsError(try store.set("bad", "v"), "set", checkError)
    }
}
