import XCTest
@testable import FlareCluster

/// `node state` and the node up procedure (docs/original-behaviour.md, "Index server commands").
final class NodeStateTests: XCTestCase {
    /// Partition 0 active (m0 with slave s0); partition 1 being added (m1 ready, slaves t1 and
    /// u1); a slave copying under m0; a proxy.
    static let map = [
        "NODE c0 1 1 1 0 0 20",
        "NODE m0 1 0 0 0 1 16",
        "NODE m1 1 0 3 1 1 17",
        "NODE p 1 2 0 -1 0 18",
        "NODE s0 1 1 0 0 1 19",
        "NODE t1 1 1 1 1 0 21",
        "NODE u1 1 1 0 1 2 22",
    ]

    private func state(_ lines: [String] = NodeStateTests.map) throws -> IndexState { try IndexState(lines) }

    // MARK: ready and prepare

    func testReadyOnlyFromPrepare() throws {
        var preparing = try state(["NODE m0 1 0 0 0 1 16", "NODE m1 1 0 1 1 1 17", "NODE s1 1 1 1 1 0 18"])
        XCTAssertEqual(try preparing.setState(name: "m1", port: 1, state: .ready), .saveAndPush)
        XCTAssertEqual(preparing.map[nodeKey: "m1:1"]?.nodeLine, "NODE m1 1 0 3 1 1 17")
        // Any role: a preparing slave may be marked ready as well.
        XCTAssertEqual(try preparing.setState(name: "s1", port: 1, state: .ready), .saveAndPush)
        XCTAssertEqual(preparing.map[nodeKey: "s1:1"]?.nodeLine, "NODE s1 1 1 3 1 0 18")

        for (node, why) in [("m0", "active master (as recorded)"), ("m1", "already ready"), ("p", "active proxy"), ("x", "unknown")] {
            assertRefused(try state(), why) { (state) throws(IndexCommandError) in
                try state.setState(name: node, port: 1, state: .ready)
            }
        }
        assertRefused(try state(["NODE d 1 2 2 -1 0 16"]), "down node") { (state) throws(IndexCommandError) in
            try state.setState(name: "d", port: 1, state: .ready)
        }
    }

    func testPrepareIsNeverAccepted() throws {
        for node in ["c0", "m0", "m1", "p", "x"] {
            assertRefused(try state(), "prepare requested for \(node)") { (state) throws(IndexCommandError) in
                try state.setState(name: node, port: 1, state: .prepare)
            }
        }
    }

    func testStateDownAndActiveRunTheProcedures() throws {
        var byState = try state()
        var byProcedure = byState
        XCTAssertEqual(try byState.setState(name: "m0", port: 1, state: .down),
                       try byProcedure.nodeDown(nodeKey: "m0:1", shutdown: false))
        XCTAssertEqual(byState, byProcedure)
        XCTAssertEqual(try byState.setState(name: "m0", port: 1, state: .active), try byProcedure.nodeUp(nodeKey: "m0:1"))
        XCTAssertEqual(byState, byProcedure)
    }

    // MARK: node up

    func testUpOfAnActiveNodeChangesNothing() throws {
        // docs/original-behaviour.md, "Recorded exchanges": `node state … active` on an active master answers OK, no
        // push.
        for node in ["m0", "s0", "p"] {
            var after = try state()
            XCTAssertEqual(try after.nodeUp(nodeKey: "\(node):1"), .unchanged)
            XCTAssertEqual(after, try state())
        }
    }

    func testUpRefusesAPreparingNonSlaveAndAnUnknownNode() throws {
        assertRefused(try state(["NODE m0 1 0 0 0 1 16", "NODE m1 1 0 1 1 1 17"]), "master still copying") { (state) throws(IndexCommandError) in
            try state.nodeUp(nodeKey: "m1:1")
        }
        assertRefused(try state(["NODE q 1 2 1 -1 0 16"]), "preparing proxy") { (state) throws(IndexCommandError) in
            try state.nodeUp(nodeKey: "q:1")
        }
        assertRefused(try state(), "unknown") { (state) throws(IndexCommandError) in
            try state.nodeUp(nodeKey: "127.0.0.9:12129")
        }
    }

    func testPreparingSlaveBecomesActive() throws {
        var after = try state()
        XCTAssertEqual(try after.nodeUp(nodeKey: "c0:1"), .saveAndPush, "no priority for a slave")
        XCTAssertEqual(after.lines, try lines(Self.map, replacing: ["NODE c0 1 1 0 0 0 20"]))
    }

    func testReadyMasterBecomesActivePushedFirstWithItsSlaves() throws {
        var after = try state()
        let change = try after.nodeUp(nodeKey: "m1:1")
        // The new master, then the slaves of the partition being added (copying or not), in
        // node-key order; never the slaves of other partitions.
        XCTAssertEqual(change, IndexChange(priority: ["m1:1", "t1:1", "u1:1"]))
        XCTAssertEqual(after.lines, try lines(Self.map, replacing: ["NODE m1 1 0 0 1 1 17"]))
        let layout = try after.map.partitionLayout()
        XCTAssertEqual(layout.activeCount, 2)
        XCTAssertNil(layout.preparing)
    }

    func testReadySlaveBecomesActiveWithoutPriority() throws {
        var after = try state(["NODE m0 1 0 0 0 1 16", "NODE s0 1 1 3 0 0 17"])
        XCTAssertEqual(try after.nodeUp(nodeKey: "s0:1"), .saveAndPush)
        XCTAssertEqual(after.map[nodeKey: "s0:1"]?.nodeLine, "NODE s0 1 1 0 0 0 17")
    }

    func testPreservedMasterResumesWhenNobodyTookItsPartition() throws {
        // Its slaves (if any) are down too: it is still the partition's master.
        let map = ["NODE m0 1 0 2 0 2 16", "NODE m1 1 0 0 1 1 17", "NODE s0 1 2 2 -1 0 18", "NODE z 1 1 2 0 0 19"]
        var after = try state(map)
        XCTAssertEqual(try after.nodeUp(nodeKey: "m0:1"), .saveAndPush)
        XCTAssertEqual(after.lines, try lines(map, replacing: ["NODE m0 1 0 0 0 2 16"]))
    }

    func testPreservedMasterBecomesProxyWhenAnotherNodeServesItsPartition() throws {
        // A replacement master took partition 0 while m0 was down.
        let map = ["NODE m0 1 0 2 0 2 16", "NODE r0 1 0 0 0 1 17"]
        var after = try state(map)
        XCTAssertEqual(try after.nodeUp(nodeKey: "m0:1"), .saveAndPush)
        XCTAssertEqual(after.lines, try lines(map, replacing: ["NODE m0 1 2 0 -1 0 16"]))

        // An active slave of partition 0 is enough.
        let withSlave = ["NODE m0 1 0 2 0 2 16", "NODE s0 1 1 0 0 0 17"]
        var afterSlave = try state(withSlave)
        _ = try afterSlave.nodeUp(nodeKey: "m0:1")
        XCTAssertEqual(afterSlave.map[nodeKey: "m0:1"]?.nodeLine, "NODE m0 1 2 0 -1 0 16")

        // A slave still copying is not (the original demotes here and leaves partition 0 masterless):
        // the preserved master comes back as the active master.
        let withCopyingSlave = ["NODE m0 1 0 2 0 2 16", "NODE s0 1 1 1 0 0 17"]
        var afterCopying = try state(withCopyingSlave)
        _ = try afterCopying.nodeUp(nodeKey: "m0:1")
        XCTAssertEqual(afterCopying.map[nodeKey: "m0:1"]?.nodeLine, "NODE m0 1 0 0 0 2 16")
    }

    func testDownNodeComesBackAsActiveProxy() throws {
        // docs/original-behaviour.md, "Recorded exchanges": the old master, set down by hand, answers the monitor
        // again.
        let map = ["NODE 127.0.0.1 12121 2 2 -1 0 16", "NODE 127.0.0.2 12122 0 0 0 1 18", "NODE 127.0.0.3 12123 1 0 0 1 17"]
        var after = try state(map)
        XCTAssertEqual(try after.nodeUp(nodeKey: "127.0.0.1:12121"), .saveAndPush)
        XCTAssertEqual(after.nodeLinesText, "NODE 127.0.0.1 12121 2 0 -1 0 16\r\nNODE 127.0.0.2 12122 0 0 0 1 18\r\nNODE 127.0.0.3 12123 1 0 0 1 17\r\n")
    }

    func testDownNonMasterBecomesProxyAndKeepsItsBalance() throws {
        // Going down clears balances, so an edited file is the only way to see one here.
        var after = try state(["NODE s 1 1 2 3 4 16"])
        _ = try after.nodeUp(nodeKey: "s:1")
        XCTAssertEqual(after.lines, ["NODE s 1 2 0 -1 4 16"])
    }
}

extension IndexState {
    /// The reply body of `node add` / the NODE part of `node sync`.
    var nodeLinesText: String { map.nodeLines }
}
