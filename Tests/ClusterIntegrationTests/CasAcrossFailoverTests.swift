import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A cas unique read on the old master means the same item on the promoted slave: the replicated
/// version is the cas unique, so `gets` before a fail-over and `cas` after it behave as on one server.
final class CasAcrossFailoverTests: ClusterTestCase {
    private func uniques(_ client: TestClient, _ keys: [String]) throws -> [String: UInt64] {
        try client.get(keys, command: "gets").compactMapValues(\.cas)
    }

    func testUniquesReadBeforeAFailOverStillDecideCasAfterIt() throws {
        try startMasterAndSlave(nodeArguments: [1: ["--replication-type", "sync"]])
        let proxy = try cluster.client(3)
        let keys = ["unchanged", "rewritten", "deleted"]
        for key in keys { XCTAssertEqual(try proxy.store("set", key, "first"), "STORED") }
        let before = try uniques(proxy, keys)
        XCTAssertEqual(before.count, keys.count, "gets through the proxy")
        XCTAssertEqual(try proxy.store("set", "rewritten", "second"), "STORED")
        XCTAssertEqual(try proxy.delete("deleted"), "DELETED")
        XCTAssertEqual(try proxy.store("set", "deleted", "reborn"), "STORED")

        cluster.node(1).daemon.kill9()
        XCTAssertTrue(cluster.waitForIndex(2, role: "master", state: "active", partition: 0), cluster.mapsReport())
        XCTAssertTrue(cluster.waitForMapsInSync([2, 3]), cluster.mapsReport())

        let client = try cluster.client(3)
        // The promoted slave holds the old master's versions: the unique still names that item.
        XCTAssertEqual(try client.line("cas unchanged 0 0 5 \(before["unchanged"]!)\r\nthird"), "STORED")
        // Uniques of items changed since (rewritten, or deleted and set again) are stale there too.
        XCTAssertEqual(try client.line("cas rewritten 0 0 5 \(before["rewritten"]!)\r\nthird"), "EXISTS")
        XCTAssertEqual(try client.line("cas deleted 0 0 5 \(before["deleted"]!)\r\nthird"), "EXISTS")
        XCTAssertEqual(try client.get("rewritten")?.value, "second")
        XCTAssertEqual(try client.get("deleted")?.value, "reborn")
        // New writes on the new master take uniques above every one the old master gave out.
        let after = try uniques(client, keys)
        let highestBefore = before.values.max()!
        for key in keys { XCTAssertGreaterThan(after[key] ?? 0, highestBefore, key) }
        XCTAssertGreaterThan(after["unchanged"]!, before["unchanged"]!)
    }
}
