import XCTest

/// The harness itself: flared starts, answers, and stops on SIGTERM removing its pid file.
final class SmokeTests: FlaredTestCase {
    func testStartAnswerAndStop() throws {
        let flared = try startFlared()
        let client = try connect(flared)
        try exchange(client, "version\r\n", "VERSION flare-1.3.4\r\n")
        try exchange(client, "ping\r\n", "OK\r\n")
        let pidText = try String(contentsOfFile: flared.dataDir + "/flared.pid", encoding: .utf8)
        XCTAssertEqual(pidText, "\(flared.pid)\n")
        flared.stop()
        XCTAssertEqual(flared.exitStatus, 0, flared.stderrText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: flared.dataDir + "/flared.pid"), "pid file removed on SIGTERM")
    }

    func testSigtermWithBusyConnectionsExitsCleanlyAndKeepsData() throws {
        let dataDir = try newDataDir()
        let flared = try startFlared(dataDir: dataDir)
        let writer = try connect(flared)
        for i in 0..<5 { try exchange(writer, Memcache.set("s:\(i)", "kept \(i)"), "STORED\r\n") }
        let half = try connect(flared)
        try half.send("set s:half 0 0 100\r\nabc")
        let dumper = try connect(flared)
        try dumper.send("dump 1000000\r\n")
        _ = try dumper.read(until: "\r\n")
        let start = Clock.now()
        flared.stop()
        XCTAssertLessThan(Clock.now() - start, 4.5, "shutdown took too long")
        XCTAssertEqual(flared.exitStatus, 0, flared.stderrText)
        for client in [writer, half, dumper] { XCTAssertNotNil(client.waitForClose(timeout: 2), "connections are closed") }
        XCTAssertTrue(flared.stderrText.contains("SIGTERM"), flared.stderrText)
        let restarted = try startFlared(dataDir: dataDir)
        let check = try connect(restarted)
        try exchange(check, "get s:0 s:4 s:half\r\n", "VALUE s:0 0 6\r\nkept 0\r\nVALUE s:4 0 6\r\nkept 4\r\nEND\r\n")
    }
}
