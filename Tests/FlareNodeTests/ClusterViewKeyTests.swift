import FlareCluster
import XCTest

/// The key placements the routing tables assume.
final class ClusterViewKeyTests: XCTestCase {
    func testKeyPartitions() throws {
        let resolver = try KeyResolver()
        let cases: [(key: String, among1: Int, among2: Int, among3: Int)] = [
            (Keys.stays0, 0, 0, 0),
            (Keys.stays1, 0, 1, 1),
            (Keys.moves0, 0, 0, 2),
            (Keys.moves1, 0, 1, 2),
        ]
        for (key, among1, among2, among3) in cases {
            XCTAssertEqual(resolver.partition(of: key, count: 1), among1, key)
            XCTAssertEqual(resolver.partition(of: key, count: 2), among2, key)
            XCTAssertEqual(resolver.partition(of: key, count: 3), among3, key)
        }
    }
}
