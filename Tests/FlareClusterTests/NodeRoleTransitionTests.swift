import XCTest
@testable import FlareCluster

/// `node role` (docs/original-behaviour.md, "Index server commands"): every row of the transition table, the balance
/// check, new master and new slave. Each case is a map, a request and the whole map expected after
/// it (nil: refused, map unchanged).
final class NodeRoleTransitionTests: XCTestCase {
    /// Partition 0 active (master m0, active slave s0); partition 1 being added (master m1 in
    /// prepare, slave s1 copying from it); an active proxy p.
    static let adding = [
        "NODE m0 1 0 0 0 1 16",
        "NODE m1 1 0 1 1 1 17",
        "NODE p 1 2 0 -1 0 18",
        "NODE s0 1 1 0 0 1 19",
        "NODE s1 1 1 1 1 0 20",
    ]
    /// The same with m1 ready (finished copying, waiting for activation).
    static let addingReady = try! lines(adding, replacing: ["NODE m1 1 0 3 1 1 17"])
    /// Partition 0 with an active master of balance 0 and a slave still copying under it.
    static let copyingSlave = [
        "NODE m0 1 0 0 0 0 16",
        "NODE p 1 2 0 -1 0 17",
        "NODE s0 1 1 1 0 0 18",
    ]
    /// Partition 0 preserved by its down master; partition 1 active.
    static let preserved = [
        "NODE m0 1 0 2 0 1 16",
        "NODE m1 1 0 0 1 1 17",
        "NODE p 1 2 0 -1 0 18",
    ]

    struct Case {
        let title: String
        let map: [String]
        let node: String
        let role: NodeRole
        let balance: Int
        let partition: Int
        /// Lines of the nodes that change (the rest stays); nil: refused.
        let changes: [String]?
        /// Nodes pushed to first (a new slave's master).
        let priority: [String]
        let line: UInt

        init(_ title: String, _ map: [String], _ node: String, _ role: NodeRole, _ balance: Int, _ partition: Int,
             _ changes: [String]?, priority: [String] = [], line: UInt = #line) {
            self.title = title
            self.map = map
            self.node = node
            self.role = role
            self.balance = balance
            self.partition = partition
            self.changes = changes
            self.priority = priority
            self.line = line
        }
    }

    static let cases: [Case] = [
        // master, prepare/ready
        Case("preparing master → master sets balance", adding, "m1", .master, 3, -1, ["NODE m1 1 0 1 1 3 17"]),
        Case("ready master → master sets balance", addingReady, "m1", .master, 2, -1, ["NODE m1 1 0 3 1 2 17"]),
        Case("preparing master → master, negative balance", adding, "m1", .master, -1, -1, nil),
        Case("preparing master → master, balance 0 leaves the partition at 0", adding, "m1", .master, 0, -1, nil),
        Case("preparing master → slave", adding, "m1", .slave, 1, 1, nil),
        Case("preparing master → proxy takes its slaves along", adding, "m1", .proxy, -1, -1,
             ["NODE m1 1 2 0 -1 0 17", "NODE s1 1 2 0 -1 0 20"]),
        Case("ready master → proxy takes its slaves along", addingReady, "m1", .proxy, -1, -1,
             ["NODE m1 1 2 0 -1 0 17", "NODE s1 1 2 0 -1 0 20"]),
        // slave, prepare/ready
        Case("preparing slave → master", adding, "s1", .master, 1, 1, nil),
        Case("preparing slave of a preparing master → slave sets balance", adding, "s1", .slave, 2, -1,
             ["NODE s1 1 1 1 1 2 20"]),
        Case("preparing slave of a ready master → slave sets balance", addingReady, "s1", .slave, 4, -1,
             ["NODE s1 1 1 1 1 4 20"]),
        Case("preparing slave → slave, negative balance", adding, "s1", .slave, -1, -1, nil),
        Case("preparing slave of an active master → slave", copyingSlave, "s0", .slave, 1, 0, nil),
        Case("preparing slave → proxy", adding, "s1", .proxy, -1, -1, ["NODE s1 1 2 0 -1 0 20"]),
        Case("preparing slave → proxy needs no balance check", copyingSlave, "s0", .proxy, -1, -1,
             ["NODE s0 1 2 0 -1 0 18"]),
        // proxy, prepare/ready: forced active first
        Case("preparing proxy → proxy becomes active", ["NODE q 1 2 1 -1 0 16"], "q", .proxy, -1, -1,
             ["NODE q 1 2 0 -1 0 16"]),
        Case("ready proxy → slave of an active master", adding + ["NODE q 1 2 3 -1 0 21"], "q", .slave, 1, 0,
             ["NODE q 1 1 1 0 0 21"], priority: ["m0:1"]),
        Case("preparing proxy → master of a taken partition", ["NODE m0 1 0 0 0 1 16", "NODE q 1 2 1 -1 0 17"],
             "q", .master, 1, 0, nil),
        // master, active
        Case("active master → master sets balance, partition ignored", adding, "m0", .master, 3, 7,
             ["NODE m0 1 0 0 0 3 16"]),
        Case("active master → master, balance 0 with a reading slave", adding, "m0", .master, 0, -1,
             ["NODE m0 1 0 0 0 0 16"]),
        Case("active master → master, balance 0 alone", preserved, "m1", .master, 0, -1, nil),
        Case("active master → master, missing balance", adding, "m0", .master, -1, -1, nil),
        Case("active master → slave", adding, "m0", .slave, 1, 0, nil),
        Case("active master → proxy", adding, "m0", .proxy, -1, -1, nil),
        // slave, active
        Case("active slave → master", adding, "s0", .master, 1, 0, nil),
        Case("active slave → slave sets balance, partition ignored", adding, "s0", .slave, 5, 3,
             ["NODE s0 1 1 0 0 5 19"]),
        Case("active slave → slave, negative balance", adding, "s0", .slave, -1, 0, nil),
        Case("active slave → proxy", adding, "s0", .proxy, -1, -1, ["NODE s0 1 2 0 -1 0 19"]),
        Case("active slave → proxy would leave no reader",
             ["NODE m0 1 0 0 0 0 16", "NODE s0 1 1 0 0 1 17"], "s0", .proxy, -1, -1, nil),
        // proxy, active → master
        Case("first master of an empty cluster is active", ["NODE p 1 2 0 -1 0 16"], "p", .master, 1, 0,
             ["NODE p 1 0 0 0 1 16"]),
        Case("master of the next partition prepares (a preserved partition counts)", preserved, "p", .master, 2, 2, ["NODE p 1 0 1 2 2 18"]),
        Case("master of the next partition, already being added", adding, "p", .master, 1, 1, nil),
        Case("master of the next partition, a ready master already has it", addingReady, "p", .master, 1, 1, nil),
        Case("master replacing a preserved master is active", preserved, "p", .master, 1, 0,
             ["NODE p 1 0 0 0 1 18"]),
        Case("master of a partition with an active master", preserved, "p", .master, 1, 1, nil),
        Case("master beyond the next partition", preserved, "p", .master, 1, 3, nil),
        Case("master of a negative partition", preserved, "p", .master, 1, -1, nil),
        Case("new master with balance 0", preserved, "p", .master, 0, 2, nil),
        Case("new master with missing balance", preserved, "p", .master, -1, 0, nil),
        // proxy, active → slave
        // (pushed to the master first: it must replicate to the slave before the slave's dump starts)
        Case("slave of an active master starts at balance 0", adding, "p", .slave, 5, 0, ["NODE p 1 1 1 0 0 18"],
             priority: ["m0:1"]),
        Case("slave of a preparing master keeps its balance", adding, "p", .slave, 5, 1, ["NODE p 1 1 1 1 5 18"],
             priority: ["m1:1"]),
        Case("slave of a ready master keeps its balance", addingReady, "p", .slave, 2, 1, ["NODE p 1 1 1 1 2 18"],
             priority: ["m1:1"]),
        Case("slave of a preparing master, missing balance is 0", adding, "p", .slave, -1, 1, ["NODE p 1 1 1 1 0 18"],
             priority: ["m1:1"]),
        Case("slave of a partition without master", adding, "p", .slave, 1, 2, nil),
        Case("slave of a partition whose master is down", preserved, "p", .slave, 0, 0, nil),
        Case("slave of a negative partition", adding, "p", .slave, 0, -1, nil),
        // proxy, active → proxy
        Case("proxy stays proxy", adding, "p", .proxy, 3, 1, []),
        // down or unknown
        Case("down master", preserved, "m0", .master, 1, 0, nil),
        Case("down proxy", ["NODE d 1 2 2 -1 0 16"], "d", .slave, 0, 0, nil),
        Case("unknown node", adding, "x", .proxy, -1, -1, nil),
    ]

    func testTransitionTable() throws {
        for row in Self.cases {
            let state = try IndexState(row.map)
            if let changes = row.changes {
                var after = state
                do {
                    let change = try after.setRole(name: row.node, port: 1, role: row.role, balance: row.balance, partition: row.partition)
                    XCTAssertEqual(change, IndexChange(priority: row.priority), row.title, line: row.line)
                    XCTAssertEqual(after.lines, try lines(row.map, replacing: changes), row.title, line: row.line)
                    XCTAssertEqual(after.nextThreadType, state.nextThreadType, row.title, line: row.line)
                } catch {
                    XCTFail("\(row.title): refused (\(error))", line: row.line)
                }
            } else {
                assertRefused(state, row.title, line: row.line) { (state) throws(IndexCommandError) in
                    try state.setRole(name: row.node, port: 1, role: row.role, balance: row.balance, partition: row.partition)
                }
            }
        }
    }

    func testBalanceCheckCountsEveryNodeOfThePartition() throws {
        // A preserved (down) master's balance still counts, as in the original's sum over the
        // whole node map.
        let state = try IndexState([
            "NODE m0 1 0 2 0 1 16",
            "NODE r0 1 0 0 0 1 17",  // inconsistent second master, only here for the sum
        ])
        var after = state
        XCTAssertEqual(try after.setRole(name: "r0", port: 1, role: .master, balance: 0, partition: -1), .saveAndPush)
        XCTAssertEqual(after.map[nodeKey: "r0:1"]?.balance, 0)
    }

    func testNewMasterCountsPartitionsOfAnInconsistentMap() throws {
        // Partitions 0 and 2 without 1: the layout is broken, N is still the 2 partitions the
        // active table holds, so 2 is "next" and 1 is a replaceable partition with no master.
        var state = try IndexState(["NODE a 1 0 0 0 1 16", "NODE b 1 0 0 2 1 17", "NODE p 1 2 0 -1 0 18", "NODE q 1 2 0 -1 0 19"])
        XCTAssertNotNil(state.layoutProblem())
        _ = try state.setRole(name: "p", port: 1, role: .master, balance: 1, partition: 1)
        XCTAssertEqual(state.map[nodeKey: "p:1"]?.nodeLine, "NODE p 1 0 0 1 1 18")
        XCTAssertNil(state.layoutProblem(), "the hole is filled")
        assertRefused(state, "partition 2 is taken") { (state) throws(IndexCommandError) in
            try state.setRole(name: "q", port: 1, role: .master, balance: 1, partition: 2)
        }
    }

    func testTranscriptRefusals() throws {
        // docs/original-behaviour.md, "Recorded exchanges": an unknown node, and a partition beyond the next one.
        let state = try IndexState([
            "NODE 127.0.0.1 12121 2 0 -1 0 16",
            "NODE 127.0.0.2 12122 2 0 -1 0 18",
            "NODE 127.0.0.3 12123 2 0 -1 0 17",
        ])
        assertRefused(state, "unknown node") { (state) throws(IndexCommandError) in
            try state.setRole(name: "127.0.0.9", port: 12129, role: .master, balance: 1, partition: 0)
        }
        assertRefused(state, "partition 5 of an empty cluster") { (state) throws(IndexCommandError) in
            try state.setRole(name: "127.0.0.1", port: 12121, role: .master, balance: 1, partition: 5)
        }
        var after = state
        do {
            _ = try after.setRole(name: "127.0.0.9", port: 12129, role: .master, balance: 1, partition: 0)
        } catch {
            XCTAssertEqual(error.reason, "no such node 127.0.0.9:12129")
        }
    }
}
