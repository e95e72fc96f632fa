import XCTest
@testable import FlareCluster

/// `node add` and `node remove` (docs/original-behaviour.md, "Index server commands"), and thread type allocation.
final class NodeAddRemoveTests: XCTestCase {
    func testNewNodesGetIncreasingThreadTypesAndAMonitor() throws {
        var state = IndexState()
        XCTAssertEqual(state.nextThreadType, 16)
        for (index, name) in ["127.0.0.1", "127.0.0.3", "127.0.0.2"].enumerated() {
            let port = 12121 + Int(name.split(separator: ".").last!)! - 1
            let change = try state.addNode(name: name, port: port)
            XCTAssertEqual(change, IndexChange(startMonitor: "\(name):\(port)"))
            XCTAssertEqual(state.map[name: name, port: port]?.threadType, 16 + index)
        }
        XCTAssertEqual(state.nextThreadType, 19)
        // docs/original-behaviour.md, "Recorded exchanges": three fresh proxies, listed in node-key order.
        XCTAssertEqual(state.nodeLinesText, """
            NODE 127.0.0.1 12121 2 0 -1 0 16\r
            NODE 127.0.0.2 12122 2 0 -1 0 18\r
            NODE 127.0.0.3 12123 2 0 -1 0 17\r

            """)
    }

    func testRegistrationHandshakeReply() throws {
        // docs/original-behaviour.md, "Recorded exchanges": the fake node joins next to an active master.
        var state = try IndexState(["NODE 127.0.0.1 12131 0 0 0 1 16"])
        _ = try state.addNode(name: "127.0.0.1", port: 12139)
        XCTAssertEqual(state.nodeLinesText + "END\r\n", "NODE 127.0.0.1 12131 0 0 0 1 16\r\nNODE 127.0.0.1 12139 2 0 -1 0 17\r\nEND\r\n")
    }

    func testAddOfADownNodeKeepsItsEntry() throws {
        // A restarted preserved master stays master/down until the next up event.
        let map = ["NODE m 1 0 2 3 5 16", "NODE q 1 2 2 -1 0 17"]
        for node in ["m", "q"] {
            var state = try IndexState(map, nextThreadType: 20)
            XCTAssertEqual(try state.addNode(name: node, port: 1), .saveAndPush, "saved and pushed, no new monitor")
            XCTAssertEqual(state, try IndexState(map, nextThreadType: 20))
        }
    }

    func testAddOfAListedNodeAppliesDownThenUp() throws {
        // A node the map lists and that is not down registers again: its process restarted before
        // the monitor noticed. It goes through the node down procedure, then the node up procedure.
        struct Case {
            let why: String
            let map: [String]
            let node: String
            let after: [String]
            let change: IndexChange
        }
        let cases = [
            Case(why: "unknown node: a fresh proxy with a monitor",
                 map: ["NODE m 1 0 0 0 1 16"], node: "n",
                 after: ["NODE m 1 0 0 0 1 16", "NODE n 1 2 0 -1 0 30"], change: IndexChange(startMonitor: "n:1")),
            Case(why: "down proxy: unchanged, the next up event revives it",
                 map: ["NODE m 1 0 0 0 1 16", "NODE q 1 2 2 -1 0 17"], node: "q",
                 after: ["NODE m 1 0 0 0 1 16", "NODE q 1 2 2 -1 0 17"], change: .saveAndPush),
            Case(why: "preserved (down) master: unchanged",
                 map: ["NODE m 1 0 2 0 3 16"], node: "m",
                 after: ["NODE m 1 0 2 0 3 16"], change: .saveAndPush),
            Case(why: "active master with an active slave: fail-over, the slave pushed to first",
                 map: ["NODE m 1 0 0 0 1 16", "NODE p 1 2 0 -1 0 18", "NODE s 1 1 0 0 2 17"], node: "m",
                 after: ["NODE m 1 2 0 -1 0 16", "NODE p 1 2 0 -1 0 18", "NODE s 1 0 0 0 2 17"],
                 change: IndexChange(priority: ["s:1"])),
            Case(why: "active master whose slaves took no reads: the promoted slave gets balance 1, the other copies afresh",
                 map: ["NODE m 1 0 0 0 1 16", "NODE s 1 1 0 0 0 17", "NODE t 1 1 0 0 0 18"], node: "m",
                 after: ["NODE m 1 2 0 -1 0 16", "NODE s 1 0 0 0 1 17", "NODE t 1 1 1 0 0 18"],
                 change: IndexChange(priority: ["s:1"])),
            Case(why: "active master without an active slave: preserved, so it resumes as master",
                 map: ["NODE m 1 0 0 0 3 16", "NODE s 1 1 1 0 0 17", "NODE u 1 1 2 0 0 18"], node: "m",
                 after: ["NODE m 1 0 0 0 3 16", "NODE s 1 1 1 0 0 17", "NODE u 1 1 2 0 0 18"], change: .saveAndPush),
            Case(why: "active slave: leaves its partition as an active proxy",
                 map: ["NODE m 1 0 0 0 1 16", "NODE s 1 1 0 0 2 17"], node: "s",
                 after: ["NODE m 1 0 0 0 1 16", "NODE s 1 2 0 -1 0 17"], change: .saveAndPush),
            Case(why: "slave still copying: an active proxy",
                 map: ["NODE m 1 0 0 0 1 16", "NODE s 1 1 1 0 0 17"], node: "s",
                 after: ["NODE m 1 0 0 0 1 16", "NODE s 1 2 0 -1 0 17"], change: .saveAndPush),
            Case(why: "ready master of a new partition: the addition is cancelled",
                 map: ["NODE m 1 0 0 0 1 16", "NODE n 1 0 3 1 1 17", "NODE t 1 1 1 1 0 18"], node: "n",
                 after: ["NODE m 1 0 0 0 1 16", "NODE n 1 2 0 -1 0 17", "NODE t 1 2 0 -1 0 18"], change: .saveAndPush),
            Case(why: "active proxy: stays an active proxy, the map is pushed again",
                 map: ["NODE m 1 0 0 0 1 16", "NODE p 1 2 0 -1 0 17"], node: "p",
                 after: ["NODE m 1 0 0 0 1 16", "NODE p 1 2 0 -1 0 17"], change: .saveAndPush),
        ]
        for test in cases {
            var state = try IndexState(test.map, version: 7, nextThreadType: 30)
            let change = try state.addNode(name: test.node, port: 1)
            XCTAssertEqual(change, test.change, test.why)
            XCTAssertTrue(change.save, "\(test.why): saved, so the node and everyone else get the map")
            XCTAssertNil(change.skipPush, "\(test.why): the restarted node is pushed to as well")
            XCTAssertEqual(state.lines, test.after, test.why)
            XCTAssertEqual(state.version, 7, "\(test.why): the coordinator numbers the saved map")
            XCTAssertEqual(state.nextThreadType, test.change.startMonitor == nil ? 30 : 31,
                           "\(test.why): a known node keeps its thread type and monitor")
            XCTAssertNil(state.layoutProblem(), "\(test.why): consistent layout afterwards")
        }
    }

    func testReAddIsTheMonitorsDownThenUp() throws {
        // The same map as the monitor's node down followed by node up, for every listed live node.
        let map = ["NODE m 1 0 0 0 1 16", "NODE n 1 0 0 1 2 17", "NODE p 1 2 0 -1 0 18",
                   "NODE s 1 1 0 0 1 19", "NODE t 1 1 1 1 0 20"]
        for node in ["m", "n", "p", "s", "t"] {
            var added = try IndexState(map)
            var cycled = try IndexState(map)
            let change = try added.addNode(name: node, port: 1)
            let down = try cycled.nodeDown(nodeKey: "\(node):1", shutdown: false)
            let up = try cycled.nodeUp(nodeKey: "\(node):1")
            XCTAssertEqual(added, cycled, node)
            XCTAssertEqual(change.priority, down.priority + up.priority, node)
            XCTAssertEqual(added.map[nodeKey: "\(node):1"]?.state, .active, "\(node) is up: it answered")
        }
    }

    func testRemoveOnlyDownNodes() throws {
        // docs/original-behaviour.md, "Recorded exchanges": the fake node went down and is removed; again fails; an
        // active master cannot be removed.
        var state = try IndexState(["NODE 127.0.0.1 12131 0 0 0 1 16", "NODE 127.0.0.1 12139 2 2 -1 0 17"])
        XCTAssertEqual(try state.removeNode(name: "127.0.0.1", port: 12139), IndexChange(stopMonitor: "127.0.0.1:12139"))
        XCTAssertEqual(state.lines, ["NODE 127.0.0.1 12131 0 0 0 1 16"])
        assertRefused(state, "removed already") { (state) throws(IndexCommandError) in
            try state.removeNode(name: "127.0.0.1", port: 12139)
        }
        assertRefused(state, "active master") { (state) throws(IndexCommandError) in
            try state.removeNode(name: "127.0.0.1", port: 12131)
        }
        let others = try IndexState(["NODE p 1 2 0 -1 0 16", "NODE q 1 1 1 0 0 17", "NODE r 1 0 3 1 1 18"])
        for node in ["p", "q", "r"] {
            assertRefused(others, node) { (state) throws(IndexCommandError) in try state.removeNode(name: node, port: 1) }
        }
    }

    func testDownMasterIsRemovableOnlyIfItsPartitionLivesOn() throws {
        // Partition 0 served by a replacement master: the old one can go.
        var replaced = try IndexState(["NODE m 1 0 2 0 1 16", "NODE r 1 0 0 0 1 17"])
        XCTAssertEqual(try replaced.removeNode(name: "m", port: 1), IndexChange(stopMonitor: "m:1"))
        XCTAssertEqual(replaced.lines, ["NODE r 1 0 0 0 1 17"])

        for (map, why) in [
            (["NODE m 1 0 2 0 1 16", "NODE n 1 0 0 1 1 17"], "alone in its partition"),
            (["NODE m 1 0 2 0 1 16", "NODE s 1 1 2 0 0 17"], "its partition's other node is down too"),
        ] {
            assertRefused(try IndexState(map), why) { (state) throws(IndexCommandError) in
                try state.removeNode(name: "m", port: 1)
            }
        }
    }

    func testThreadTypesAreNeverReused() throws {
        var state = IndexState()
        for name in ["a", "b", "c"] { _ = try state.addNode(name: name, port: 1) }
        XCTAssertEqual(state.map.entries.map(\.threadType), [16, 17, 18])
        _ = try state.nodeDown(nodeKey: "c:1", shutdown: false)
        _ = try state.removeNode(name: "c", port: 1)
        XCTAssertEqual(state.nextThreadType, 19)
        _ = try state.addNode(name: "c", port: 1)
        XCTAssertEqual(state.map[nodeKey: "c:1"]?.threadType, 19, "a node added again is a new node")
        _ = try state.addNode(name: "d", port: 1)
        XCTAssertEqual(state.map[nodeKey: "d:1"]?.threadType, 20)
        XCTAssertEqual(state.nextThreadType, 21)
    }
}
