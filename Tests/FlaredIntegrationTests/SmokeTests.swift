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
}
