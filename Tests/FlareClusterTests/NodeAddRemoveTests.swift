import XCTest
@testable import FlareCluster

/// `node add` (index-server.md §2.1) and `node remove` (§2.6), and thread type allocation.
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
        // transcripts.md §1: three fresh proxies, listed in node-key order.
        XCTAssertEqual(state.nodeLinesText, """
            NODE 127.0.0.1 12121 2 0 -1 0 16\r
            NODE 127.0.0.2 12122 2 0 -1 0 18\r
            NODE 127.0.0.3 12123 2 0 -1 0 17\r

            """)
    }

    func testRegistrationHandshakeReply() throws {
        // transcripts.md §7: the fake node joins next to an active master.
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

    func testAddOfANodeThatIsNotDownFails() throws {
        let state = try IndexState(["NODE a 1 2 0 -1 0 16", "NODE m 1 0 1 1 1 17", "NODE r 1 0 3 1 1 18", "NODE s 1 1 0 0 0 19"])
        for node in ["a", "m", "r", "s"] {
            assertRefused(state, node) { (state) throws(IndexCommandError) in try state.addNode(name: node, port: 1) }
        }
    }

    func testRemoveOnlyDownNodes() throws {
        // transcripts.md §7: the fake node went down and is removed; again fails; an active
        // master cannot be removed.
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
