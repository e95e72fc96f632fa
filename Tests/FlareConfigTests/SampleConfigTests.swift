import XCTest
@testable import FlareConfig

/// The shipped `etc/*.conf` must start the daemons as they are.
final class SampleConfigTests: XCTestCase {
    private func samplePath(_ name: String) -> String {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("etc").appendingPathComponent(name).path
    }

    func testNodeSampleParses() throws {
        let settings = try parseNode(["-f", samplePath("flared.conf")])
        XCTAssertEqual(settings.dataDir, "/tmp/flare-node")
        XCTAssertEqual(settings.indexServers, [IndexServerAddress(name: "127.0.0.1", port: 12120)])
        XCTAssertEqual(settings.serverName, "127.0.0.1")
        XCTAssertEqual(settings.serverPort, 12121)
        XCTAssertEqual(settings.logFacility, "local1")
        XCTAssertEqual(settings.maxConnection, 256)
        XCTAssertEqual(settings.mutexSlot, 32)
        XCTAssertEqual(settings.proxyConcurrency, 2)
        XCTAssertEqual(settings.storageType, "tch")
        XCTAssertEqual(settings.threadPoolSize, 4)
        XCTAssertEqual(settings.masterLease, 1000)
    }

    func testIndexSampleParses() throws {
        let settings = try parseIndex(["-f", samplePath("flarei.conf")])
        XCTAssertEqual(settings.dataDir, "/tmp/flare-index")
        XCTAssertEqual(settings.serverName, "127.0.0.1")
        XCTAssertEqual(settings.serverPort, 12120)
        XCTAssertEqual(settings.logFacility, "local0")
        XCTAssertEqual(settings.maxConnection, 256)
        XCTAssertEqual(settings.monitorThreshold, 2)
        XCTAssertEqual(settings.monitorReadTimeout, 300)
        XCTAssertEqual(settings.monitorInterval, 1)
        XCTAssertEqual(settings.threadPoolSize, 8)
    }
}
