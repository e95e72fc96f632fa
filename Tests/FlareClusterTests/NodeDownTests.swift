import XCTest
@testable import FlareCluster

/// The node down procedure, fail-over and `shutdown` (docs/original-behaviour.md, "Index server commands").
final class NodeDownTests: XCTestCase {
    private func down(_ map: [String], _ node: String, shutdown: Bool = false) throws -> (IndexChange, [String]) {
        var state = try IndexState(map)
        let change = try state.nodeDown(nodeKey: "\(node):1", shutdown: shutdown)
        return (change, state.lines)
    }

    func testFailOverPromotesTheActiveSlaveWithTheGreatestBalance() throws {
        // Ties go to the first in node-key order; a copying slave is no candidate whatever its
        // balance; a down slave is not listed at all; other partitions are untouched. The other
        // active slaves go back to prepare: they may hold writes the new master never got.
        let map = [
            "NODE a 1 1 0 0 1 17",
            "NODE b 1 1 0 0 3 18",
            "NODE c 1 1 1 0 9 19",
            "NODE d 1 1 0 0 3 20",
            "NODE e 1 1 2 0 7 21",
            "NODE m0 1 0 0 0 2 16",
            "NODE m1 1 0 0 1 1 22",
            "NODE s1 1 1 0 1 5 23",
        ]
        let (change, after) = try down(map, "m0")
        XCTAssertEqual(change, IndexChange(priority: ["b:1"]))
        XCTAssertEqual(after, try lines(map, replacing: ["NODE a 1 1 1 0 1 17", "NODE b 1 0 0 0 3 18", "NODE d 1 1 1 0 3 20",
                                                         "NODE m0 1 2 2 -1 0 16"]))
        let layout = try NodeMap(nodeLines: after).partitionLayout()
        XCTAssertEqual(layout.master(of: 0)?.nodeKey, "b:1")
        XCTAssertEqual(layout.partition(0)?.slaves.map(\.nodeKey), ["a:1", "c:1", "d:1"], "the other slaves stay, copying")
        XCTAssertEqual(layout.readers(of: 0), ["b:1", "b:1", "b:1"], "none of them takes reads until its copy is complete")
    }

    func testFailOverBumpsTheBalanceWhenNoSlaveTookReads() throws {
        // The copying slave's balance counts as 0 in the sum.
        let map = ["NODE a 1 1 0 0 0 17", "NODE b 1 1 0 0 0 18", "NODE c 1 1 1 0 4 19", "NODE m0 1 0 0 0 1 16"]
        let (change, after) = try down(map, "m0")
        XCTAssertEqual(change.priority, ["a:1"])
        XCTAssertEqual(after, try lines(map, replacing: ["NODE a 1 0 0 0 1 17", "NODE b 1 1 1 0 0 18", "NODE m0 1 2 2 -1 0 16"]))
    }

    func testNoBumpWhenSomeSlaveTookReads() throws {
        // a (balance 0) is first but b has the greater balance; the sum is 2, no bump.
        let map = ["NODE a 1 1 0 0 0 17", "NODE b 1 1 0 0 2 18", "NODE m0 1 0 0 0 1 16"]
        let (_, after) = try down(map, "m0")
        XCTAssertEqual(after, try lines(map, replacing: ["NODE a 1 1 1 0 0 17", "NODE b 1 0 0 0 2 18", "NODE m0 1 2 2 -1 0 16"]))
    }

    func testMasterWithoutActiveSlaveIsPreserved() throws {
        for (map, why) in [
            (["NODE m0 1 0 0 0 3 16", "NODE p 1 2 0 -1 0 17"], "no slave"),
            (["NODE m0 1 0 0 0 3 16", "NODE s0 1 1 1 0 0 17"], "only a copying slave"),
            (["NODE m0 1 0 0 0 3 16", "NODE s0 1 1 2 0 0 17"], "only a down slave"),
        ] {
            let (change, after) = try down(map, "m0")
            XCTAssertEqual(change, .saveAndPush, why)
            XCTAssertEqual(after, try lines(map, replacing: ["NODE m0 1 0 2 0 3 16"]), why)
            let layout = try NodeMap(nodeLines: after).partitionLayout()
            XCTAssertEqual(layout.activeCount, 1, "\(why): the partition stays counted")
            XCTAssertNil(layout.master(of: 0), why)
        }
    }

    func testPreparingOrReadyMasterCancelsThePartitionAddition() throws {
        for state in [1, 3] {
            let map = [
                "NODE m0 1 0 0 0 1 16",
                "NODE m1 1 0 \(state) 1 1 17",
                "NODE s0 1 1 0 0 1 18",
                "NODE s1 1 1 1 1 2 19",
                "NODE t1 1 1 0 1 0 20",
            ]
            let (change, after) = try down(map, "m1")
            XCTAssertEqual(change, .saveAndPush)
            XCTAssertEqual(after, try lines(map, replacing: [
                "NODE m1 1 2 2 -1 0 17", "NODE s1 1 2 0 -1 0 19", "NODE t1 1 2 0 -1 0 20",
            ]))
            XCTAssertNil(try NodeMap(nodeLines: after).partitionLayout().preparing)
        }
    }

    func testSlaveAndProxyGoDownAsProxies() throws {
        let map = ["NODE m0 1 0 0 0 1 16", "NODE p 1 2 0 -1 0 17", "NODE s0 1 1 0 0 2 18", "NODE t0 1 1 1 0 0 19"]
        XCTAssertEqual(try down(map, "s0").1, try lines(map, replacing: ["NODE s0 1 2 2 -1 0 18"]))
        XCTAssertEqual(try down(map, "t0").1, try lines(map, replacing: ["NODE t0 1 2 2 -1 0 19"]))
        XCTAssertEqual(try down(map, "p").1, try lines(map, replacing: ["NODE p 1 2 2 -1 0 17"]))
        XCTAssertEqual(try down(map, "p").0, .saveAndPush)
    }

    func testDownOfADownNodeChangesNothingAndUnknownFails() throws {
        let map = ["NODE d 1 2 2 -1 0 16", "NODE m 1 0 2 0 1 17"]
        for node in ["d", "m"] {
            let (change, after) = try down(map, node)
            XCTAssertEqual(change, .unchanged)
            XCTAssertEqual(after, map)
        }
        assertRefused(try IndexState(map), "unknown") { (state) throws(IndexCommandError) in
            try state.nodeDown(nodeKey: "x:1", shutdown: false)
        }
        assertRefused(try IndexState(map), "unknown, shutdown") { (state) throws(IndexCommandError) in
            try state.shutdownNode(name: "127.0.0.9", port: 12129)
        }
    }

    func testShutdownSkipsTheStoppingNodeUnlessItWasAnActiveMaster() throws {
        let map = [
            "NODE m0 1 0 0 0 1 16",
            "NODE m1 1 0 1 1 1 17",
            "NODE n 1 0 0 2 1 18",
            "NODE p 1 2 0 -1 0 19",
            "NODE s0 1 1 0 0 1 20",
        ]
        XCTAssertEqual(try down(map, "p", shutdown: true).0, IndexChange(skipPush: "p:1"))
        XCTAssertEqual(try down(map, "s0", shutdown: true).0, IndexChange(skipPush: "s0:1"))
        XCTAssertEqual(try down(map, "m1", shutdown: true).0, IndexChange(skipPush: "m1:1"))
        XCTAssertEqual(try down(map, "m0", shutdown: true).0, IndexChange(priority: ["s0:1"]), "promoted: pushed to")
        XCTAssertEqual(try down(map, "n", shutdown: true).0, IndexChange(), "preserved: pushed to")
        // Otherwise identical to the node down procedure.
        for node in ["p", "s0", "m0", "m1", "n"] {
            XCTAssertEqual(try down(map, node, shutdown: true).1, try down(map, node).1, node)
        }
    }

    func testShutdownByNameAndPort() throws {
        // docs/original-behaviour.md, "Recorded exchanges": a proxy receiving SIGTERM.
        var state = try IndexState(["NODE 127.0.0.1 12131 0 0 0 1 16", "NODE 127.0.0.1 12132 2 0 -1 0 17"])
        XCTAssertEqual(try state.shutdownNode(name: "127.0.0.1", port: 12132), IndexChange(skipPush: "127.0.0.1:12132"))
        XCTAssertEqual(state.lines, ["NODE 127.0.0.1 12131 0 0 0 1 16", "NODE 127.0.0.1 12132 2 2 -1 0 17"])
        XCTAssertEqual(try state.shutdownNode(name: "127.0.0.1", port: 12132), .unchanged, "already down: OK")
    }
}
