import Foundation
import XCTest
@testable import FlareCluster

/// The read multiset as `WriteRouting` resolves it: each reader once per run of its entries, so a
/// map whose nodes have the largest read weight (found by the handler fuzzer: pushes of such maps
/// took a node ~0.5 s each under instrumentation) costs no more than copying the multiset.
final class WriteRoutingReadersTests: XCTestCase {
    func testLargestReadWeightsResolveEveryReader() throws {
        let weight = Partition.maximumBalance
        let map = try NodeMap(nodeLines: [
            "NODE 127.0.0.1 12121 0 0 0 \(weight) 0",
            "NODE 127.0.0.2 12121 1 0 0 \(weight) 0",
            "NODE 127.0.0.3 12121 1 0 0 \(weight) 0",
        ])
        let layout = try map.partitionLayout()
        let started = Date()
        let routing = WriteRouting(selfKey: "127.0.0.3:12121", standalone: false, map: map, layout: layout, resolver: try KeyResolver())
        let seconds = Date().timeIntervalSince(started)
        print("[WriteRoutingReadersTests] routing built in \(seconds) s")
        let readers = try XCTUnwrap(routing.routes.first).readers
        XCTAssertEqual(readers.count, 3 * weight)
        // This node's own entries are nil (read locally); the others carry their position in the map.
        XCTAssertEqual(readers.filter { $0 == nil }.count, weight)
        XCTAssertEqual(readers.compactMap { $0 }.filter { $0 == Peer(nodeKey: "127.0.0.1:12121", position: 0) }.count, weight)
        XCTAssertEqual(readers.compactMap { $0 }.filter { $0 == Peer(nodeKey: "127.0.0.2:12121", position: 1) }.count, weight)
        // Debug build, shared machine: building it resolved 3 nodes, not 196,605 entries.
        XCTAssertLessThan(seconds, 1.0)
    }
}
