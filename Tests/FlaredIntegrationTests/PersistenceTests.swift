#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest

/// The tch engine keeps items (with flags, expiry and CAS versions) across kill -9 and SIGTERM;
/// the memory engine does not; two daemons never share a data directory.
final class PersistenceTests: FlaredTestCase {
    static let itemCount = 1000

    /// Stores the items in one pipeline: varied flags and sizes, some modified so their versions
    /// differ, some with a future expiry. Returns nothing; `snapshot` reads them back.
    private func storeItems(_ client: RawClient) throws {
        let expire = Int(Date().timeIntervalSince1970) + 86400
        var request = ""
        var expected = ""
        for i in 0..<PersistenceTests.itemCount {
            let value = "persistent value \(i) " + String(repeating: "p", count: i % 97)
            request += Memcache.set("p:\(i)", value, flags: UInt32(i * 4_000_000 % 4_294_967_295), exptime: i % 10 == 0 ? expire : 0)
            expected += "STORED\r\n"
            if i % 3 == 0 {
                request += "append p:\(i) 0 0 2\r\n+\(i % 10)\r\n"
                expected += "STORED\r\n"
            }
            if i % 7 == 0 {
                request += "touch p:\(i) \(expire)\r\n"
                expected += "TOUCHED\r\n"
            }
        }
        let writer = BackgroundWriter(client: client, bytes: Memcache.bytes(request))
        expectReply(client, expected, timeout: 30)
        XCTAssertNil(writer.wait())
    }

    /// `gets` of every key, in batches: the exact reply bytes, which include flags and versions.
    private func snapshot(_ client: RawClient) throws -> [UInt8] {
        var all: [UInt8] = []
        for batch in stride(from: 0, to: PersistenceTests.itemCount, by: 100) {
            let keys = (batch..<(batch + 100)).map { "p:\($0)" }.joined(separator: " ")
            try client.send("gets \(keys)\r\n")
            all += try client.read(until: "END\r\n")
        }
        return all
    }

    private func checkSnapshot(_ snapshot: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(Bytes.count("VALUE p:", in: snapshot), PersistenceTests.itemCount, "all items present", file: file, line: line)
        // Spot checks of the content (an appended item, a touched one); every write took its own unique.
        XCTAssertNotNil(uniques(snapshot)["p:3"], file: file, line: line)
        XCTAssertNotNil(Bytes.find(Memcache.bytes("\r\npersistent value 3 ppp+3\r\n"), in: snapshot), file: file, line: line)
        XCTAssertNotNil(uniques(snapshot)["p:7"], file: file, line: line)
        XCTAssertNotNil(Bytes.find(Memcache.bytes("\r\npersistent value 7 ppppppp\r\n"), in: snapshot), file: file, line: line)
        XCTAssertEqual(Set(uniques(snapshot).values).count, PersistenceTests.itemCount, "no two items share a unique",
                       file: file, line: line)
    }

    /// The cas unique of every item in a `gets` snapshot, by key.
    private func uniques(_ snapshot: [UInt8]) -> [String: UInt64] {
        var byKey: [String: UInt64] = [:]
        for row in String(decoding: snapshot, as: UTF8.self).components(separatedBy: "\r\n") where row.hasPrefix("VALUE ") {
            let words = row.split(separator: " ")
            if words.count == 5, let unique = UInt64(words[4]) { byKey[String(words[1])] = unique }
        }
        return byKey
    }

    private func restartKeepsEverything(stop: (FlaredProcess) -> Void, expectedExit: Int32) throws {
        let dataDir = try newDataDir()
        let flared = try startFlared(dataDir: dataDir)
        let client = try connect(flared)
        try storeItems(client)
        let before = try snapshot(client)
        checkSnapshot(before)
        try client.send("dump\r\n")
        let dumpBefore = try client.read(until: "\r\nEND\r\n", timeout: 10)
        client.close()
        stop(flared)
        XCTAssertEqual(flared.exitStatus, expectedExit, flared.stderrText)

        let restarted = try startFlared(dataDir: dataDir)
        let again = try connect(restarted)
        let after = try snapshot(again)
        XCTAssertEqual(after.count, before.count)
        if after != before {
            let at = zip(after, before).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? 0
            XCTFail("items differ after restart at byte \(at): before \(Bytes.show(Array(before[max(0, at - 60)...].prefix(160)))) after \(Bytes.show(Array(after[max(0, at - 60)...].prefix(160))))")
        }
        XCTAssertEqual(try statValue(again, "curr_items"), UInt64(PersistenceTests.itemCount))
        // The expiry survives too (dump shows the absolute time), and versions go on from where they were.
        try again.send("dump\r\n")
        let dumpAfter = try again.read(until: "\r\nEND\r\n", timeout: 10)
        XCTAssertEqual(Set(dumpLines(dumpAfter)), Set(dumpLines(dumpBefore)), "dump before and after the restart")
        try exchange(again, "append p:3 0 0 1\r\n!\r\n", "STORED\r\n")
        let appended = try casUnique(again, "p:3", flags: 12000000, value: "persistent value 3 ppp+3!")
        XCTAssertGreaterThan(appended, try XCTUnwrap(uniques(before).values.max()),
                             "a unique issued after the restart is above every one issued before it")
    }

    private func dumpLines(_ bytes: [UInt8]) -> [String] {
        String(decoding: bytes, as: UTF8.self).components(separatedBy: "\r\n").filter { $0.hasPrefix("VALUE ") }
    }

    func testTchKeepsAllItemsAcrossKill9() throws {
        try restartKeepsEverything(stop: { $0.kill9() }, expectedExit: SIGKILL)
    }

    func testTchKeepsAllItemsAcrossSigterm() throws {
        try restartKeepsEverything(stop: { $0.stop() }, expectedExit: 0)
    }

    func testMemoryEngineStartsEmptyAfterRestart() throws {
        let dataDir = try newDataDir()
        // The memory engine does not create the data directory (tch does); the pid file needs it.
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: false)
        let flared = try startFlared(["--storage-type", "memory"], dataDir: dataDir)
        let client = try connect(flared)
        try exchange(client, "set m 1 0 3\r\nmem\r\n", "STORED\r\n")
        try exchange(client, "get m\r\n", "VALUE m 1 3\r\nmem\r\nEND\r\n")
        client.close()
        flared.stop()
        XCTAssertEqual(flared.exitStatus, 0, flared.stderrText)
        let restarted = try startFlared(["--storage-type", "memory"], dataDir: dataDir)
        let again = try connect(restarted)
        try exchange(again, "get m\r\n", "END\r\n")
        XCTAssertEqual(try statValue(again, "curr_items"), 0)
        try exchange(again, "gets m\r\n", "END\r\n")
    }

    func testSecondDaemonOnTheSameDataDirRefusesToStart() throws {
        let dataDir = try newDataDir()
        let first = try startFlared(dataDir: dataDir)
        let client = try connect(first)
        try exchange(client, "set owner 0 0 5\r\nfirst\r\n", "STORED\r\n")
        let run = try FlaredProcess.runToExit(["--data-dir", dataDir, "--server-port", String(try FlaredProcess.freePort()),
                                               "--server-address", "127.0.0.1"], logDir: try scratchDirectory().path)
        XCTAssertNotEqual(run.status, 0, "a second flared on the same data dir must not start")
        XCTAssertTrue(run.output.contains("flare.lock"), "the message names the lock: \(run.output)")
        XCTAssertTrue(run.output.contains(String(first.pid)), "the message names the owner's pid: \(run.output)")
        // The first one is unharmed and its pid file still names it.
        try exchange(client, "get owner\r\n", "VALUE owner 0 5\r\nfirst\r\nEND\r\n")
        XCTAssertEqual(try String(contentsOfFile: dataDir + "/flared.pid", encoding: .utf8), "\(first.pid)\n")
    }
}
