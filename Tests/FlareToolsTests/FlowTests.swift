@testable import FlareTools
import XCTest

/// The operational flows (docs/original-behaviour.md, "Cluster flows (roles, states, fail-over, construction)") against
/// a scripted index whose node map changes as the real index's would, and fake nodes that answer flush_all and stats.
final class FlowTests: XCTestCase {
    typealias Node = (String, String, String, Int, Int, Int)

    /// An index whose map is `nodes`, changed by `transition` for each request line; replies OK
    /// to `node …` requests unless `transition` returns a failure line.
    private func scriptedIndex(_ nodes: [Node], transition: @escaping @Sendable (String, inout [Node]) -> String?) throws -> FakeFlareServer {
        let map = Shared(nodes)
        return try FakeFlareServer { line in
            map.with { nodes in
                if let reply = transition(line, &nodes) { return reply }
                return line.hasPrefix("node ") ? "OK\r\n" : statsNodesReply(nodes)
            }
        }
    }

    private func replace(_ nodes: inout [Node], _ key: String, role: String, state: String, partition: Int, balance: Int) {
        if let at = nodes.firstIndex(where: { $0.0 == key }) { nodes[at] = (key, role, state, partition, balance, nodes[at].5) }
    }

    func testMasterWithForceFlushesSetsRoleWaitsForReadyAndActivates() throws {
        let node = try FakeFlareServer(answersQuit: false) { line in line == "flush_all" ? "OK\r\n" : nodeStatsReply(items: 5) }
        defer { node.stop() }
        let key = "127.0.0.1:\(node.port)"
        let polls = Shared(0)
        let index = try scriptedIndex([("127.0.0.9:12121", "master", "active", 0, 1, 16), (key, "proxy", "active", -1, 0, 17)]) { line, nodes in
            switch line {
            case "node role 127.0.0.1 \(node.port) master 2 1":
                nodes[1] = (key, "master", "prepare", 1, 2, 17)
            case "stats nodes" where nodes[1].1 == "master":
                if polls.with({ $0 += 1; return $0 }) == 3 { nodes[1].2 = "ready" }
            case "node state 127.0.0.1 \(node.port) active":
                nodes[1].2 = "active"
            default: break
            }
            return nil
        }
        defer { index.stop() }
        let console = TestConsole()
        let assignment = NodeAssignment(address: NodeAddress(host: "127.0.0.1", port: String(node.port)), balance: 2, partition: 1)
        XCTAssertEqual(try MasterOperation(assignments: [assignment], force: true, activate: true).run(console.session(index: index)), .success)
        XCTAssertEqual(node.requests, ["flush_all", "stats", "stats"])
        XCTAssertEqual(index.requests, ["stats nodes", "node role 127.0.0.1 \(node.port) master 2 1", "stats nodes", "stats nodes", "stats nodes",
                                        "node state 127.0.0.1 \(node.port) active", "stats nodes"])
        XCTAssertEqual(console.out.text, """
            executed flush_all command before constructing the master node.
            started constructing the master node...
            state is ready -> stop waiting
            node                             partition   role  state balance
            \(Printf.left(key, 32))         1 master active       2

            """)
        XCTAssertEqual(console.err.text, """
            5 (role = master, state = prepare) [ETA: n/a sec (elapsed = 0 sec)]
            5 (role = master, state = ready) [ETA: n/a sec (elapsed = 0 sec)]

            """)
        XCTAssertEqual(console.pauses.seconds, [1])
    }

    func testMasterAsksAndSkipsWhenTheAnswerIsNo() throws {
        let index = try scriptedIndex([("127.0.0.1:12121", "proxy", "active", -1, 0, 16)]) { _, _ in nil }
        defer { index.stop() }
        let console = TestConsole(answers: ["n"])
        let assignment = NodeAssignment(address: NodeAddress(host: "127.0.0.1", port: "12121"), balance: 1, partition: 0)
        XCTAssertEqual(try MasterOperation(assignments: [assignment]).run(console.session(index: index)), .success)
        XCTAssertEqual(index.requests, ["stats nodes", "stats nodes"])
        XCTAssertEqual(console.err.text, "making the node master (node=127.0.0.1:12121, role=proxy -> master)\n"
                       + "items stored in the node will be cleaned up (exec flush_all) before constructing it (y/n): ")
    }

    func testMasterRefusesAPartitionThatHasAMaster() throws {
        let index = try scriptedIndex([("127.0.0.1:12121", "proxy", "active", -1, 0, 16), ("127.0.0.2:12122", "master", "active", 0, 1, 17)]) { _, _ in nil }
        defer { index.stop() }
        let console = TestConsole(answers: ["y"])
        let assignment = NodeAssignment(address: NodeAddress(host: "127.0.0.1", port: "12121"), balance: 1, partition: 0)
        _ = try MasterOperation(assignments: [assignment]).run(console.session(index: index))
        XCTAssertTrue(console.out.text.hasPrefix("the partition already has a master 127.0.0.2:12122.\n"))
        XCTAssertEqual(index.requests, ["stats nodes", "stats nodes"])
    }

    func testSlaveShowsProgressFromMasterAndSlaveItemsThenSetsBalance() throws {
        let master = try FakeFlareServer { _ in nodeStatsReply(items: 100001) }
        defer { master.stop() }
        let slaveStats = Shared(0)
        let slave = try FakeFlareServer(answersQuit: false) { line in
            if line == "flush_all" { return "OK\r\n" }
            return nodeStatsReply(items: slaveStats.with { $0 += 1; return $0 } == 1 ? 0 : 100001)
        }
        defer { slave.stop() }
        let masterKey = "127.0.0.1:\(master.port)", slaveKey = "127.0.0.1:\(slave.port)"
        let index = try scriptedIndex([(masterKey, "master", "active", 0, 1, 16), (slaveKey, "proxy", "active", -1, 0, 17)]) { line, nodes in
            switch line {
            case "node role 127.0.0.1 \(slave.port) slave 0 0":
                nodes[1] = (slaveKey, "slave", "prepare", 0, 0, 17)
            case "stats nodes" where nodes[1].2 == "prepare" && slaveStats.with({ $0 }) >= 1:
                nodes[1].2 = "active"
            case "node role 127.0.0.1 \(slave.port) slave 3 0":
                nodes[1].4 = 3
            default: break
            }
            return nil
        }
        defer { index.stop() }
        let console = TestConsole(answers: ["y", "Y"])
        let assignment = NodeAssignment(address: NodeAddress(host: "127.0.0.1", port: String(slave.port)), balance: 3, partition: 0)
        XCTAssertEqual(try SlaveOperation(assignments: [assignment]).run(console.session(index: index)), .success)
        XCTAssertEqual(index.requests, ["stats nodes", "node role 127.0.0.1 \(slave.port) slave 0 0", "stats nodes", "stats nodes", "stats nodes",
                                        "node role 127.0.0.1 \(slave.port) slave 3 0", "stats nodes"])
        XCTAssertEqual(slave.requests, ["flush_all", "stats", "stats"])
        XCTAssertEqual(master.requests, ["stats", "stats"])
        XCTAssertEqual(console.err.text, """
            making node slave (node=\(slaveKey), role=proxy -> slave)
            items stored in the node will be cleaned up (exec flush_all) before constructing it (y/n): \
            0/100001 (role = slave, state = prepare) [ETA: n/a sec (elapsed = 0 sec)]
            100001/100001 (role = slave, state = active) [ETA: 0 sec (elapsed = 0 sec)]
            changing node's balance (node=\(slaveKey), balance=0 -> 3) (y/n): 
            """)
        XCTAssertEqual(console.out.text, """
            executed flush_all command before constructing the slave node.
            started constructing slave node...
            state is active -> stop waiting
            node                             partition   role  state balance
            \(Printf.left(slaveKey, 32))         0  slave active       3

            """)
    }

    func testSlaveConstructionThatFallsBackToProxyFails() throws {
        let master = try FakeFlareServer { _ in nodeStatsReply(items: 10) }
        defer { master.stop() }
        let slave = try FakeFlareServer { line in line == "flush_all" ? "OK\r\n" : nodeStatsReply(items: 0) }
        defer { slave.stop() }
        let masterKey = "127.0.0.1:\(master.port)", slaveKey = "127.0.0.1:\(slave.port)"
        let polls = Shared(0)
        let index = try scriptedIndex([(masterKey, "master", "active", 0, 1, 16), (slaveKey, "proxy", "active", -1, 0, 17)]) { line, nodes in
            if line.hasPrefix("node role") { nodes[1] = (slaveKey, "slave", "prepare", 0, 0, 17) }
            if line == "stats nodes" && nodes[1].1 == "slave" && polls.with({ $0 += 1; return $0 }) == 3 {
                nodes[1] = (slaveKey, "proxy", "active", -1, 0, 17)
            }
            return nil
        }
        defer { index.stop() }
        let assignment = NodeAssignment(address: NodeAddress(host: "127.0.0.1", port: String(slave.port)), balance: 0, partition: 0)
        XCTAssertThrowsError(try SlaveOperation(assignments: [assignment], force: true).run(TestConsole().session(index: index))) { error in
            XCTAssertEqual("\(error)", "construction of \(slaveKey) failed: it is proxy/active again.")
        }
    }

    func testRoleRequestRetriesWithGrowingPauses() throws {
        let refusals = Shared(2)
        let index = try FakeFlareServer { _ in
            refusals.with { $0 -= 1; return $0 } >= 0 ? "SERVER_ERROR failed to set role (and balance)\r\n" : "OK\r\n"
        }
        defer { index.stop() }
        let console = TestConsole()
        let session = console.session(index: index)
        let client = try session.openIndex()
        defer { client.close() }
        let watch = ConstructionWatch(session: session, index: client)
        let address = NodeAddress(host: "n", port: "12121")
        XCTAssertTrue(try watch.requestRole(address, role: "slave", balance: 0, partition: 1, attempts: 5, startedMessage: "started constructing node..."))
        XCTAssertEqual(console.pauses.seconds, [1, 2])
        XCTAssertEqual(console.out.text, "waiting 1 sec...\nretrying...\nwaiting 2 sec...\nretrying...\nstarted constructing node...\n")
        refusals.with { $0 = 10 }
        XCTAssertFalse(try watch.requestRole(address, role: "slave", balance: 0, partition: 1, attempts: 2, startedMessage: "-"))
        XCTAssertEqual(console.pauses.seconds, [1, 2, 1])
        XCTAssertEqual(index.requests, Array(repeating: "node role n 12121 slave 0 1", count: 5))
    }

    /// A slave with balance 2 reconstructed against scripted servers; returns the index's requests,
    /// the console and the slave's port.
    private func reconstruct(force: Bool, answers: [String] = []) throws -> (requests: [String], console: TestConsole, port: UInt16, targetRequests: [String]) {
        let master = try FakeFlareServer { _ in nodeStatsReply(items: 7) }
        defer { master.stop() }
        let target = try FakeFlareServer(answersQuit: false) { line in line == "flush_all" ? "OK\r\n" : nodeStatsReply(items: 7) }
        defer { target.stop() }
        let masterKey = "127.0.0.1:\(master.port)", targetKey = "127.0.0.1:\(target.port)"
        let index = try scriptedIndex([(masterKey, "master", "active", 0, 1, 16), (targetKey, "slave", "active", 0, 2, 17),
                                       ("127.0.0.1:3", "slave", "active", 0, 1, 18)]) { line, nodes in
            switch line {
            case "node state 127.0.0.1 \(target.port) down":
                nodes[1] = (targetKey, "proxy", "down", -1, 0, 17)
            case "node role 127.0.0.1 \(target.port) slave 0 0":
                // The monitor has not revived the node yet on the first attempt.
                if nodes[1].2 == "down" {
                    nodes[1].2 = "active"
                    return "SERVER_ERROR failed to set role (and balance)\r\n"
                }
                nodes[1] = (targetKey, "slave", "active", 0, 0, 17)
            case "node role 127.0.0.1 \(target.port) slave 2 0":
                nodes[1].4 = 2
            default: break
            }
            return nil
        }
        defer { index.stop() }
        let console = TestConsole(answers: answers)
        let address = NodeAddress(host: "127.0.0.1", port: String(target.port))
        XCTAssertEqual(try ReconstructOperation(nodes: [address], force: force).run(console.session(index: index)), .success)
        return (index.requests, console, UInt16(target.port), target.requests)
    }

    func testReconstructTurnsDownFlushesAndRebuildsWithTheOldBalance() throws {
        let (requests, console, port, targetRequests) = try reconstruct(force: true)
        XCTAssertEqual(requests, ["stats nodes", "stats nodes", "node state 127.0.0.1 \(port) down",
                                  "node role 127.0.0.1 \(port) slave 0 0", "node role 127.0.0.1 \(port) slave 0 0",
                                  "stats nodes", "stats nodes", "node role 127.0.0.1 \(port) slave 2 0", "stats nodes"])
        XCTAssertEqual(targetRequests, ["flush_all", "stats"])
        XCTAssertEqual(console.pauses.seconds, [3, 1])
        XCTAssertTrue(console.out.text.contains("turning down...\nwaiting for node to be active again...\nwaiting 1 sec...\nretrying...\n"
                                                + "started constructing node...\nstate is active -> stop waiting\ndone.\n"))
        XCTAssertFalse(console.err.text.contains("changing node's balance"), "--force asks nothing")
    }

    /// Without --force the original asks again before giving the node its balance back.
    func testReconstructAsksBeforeRestoringTheBalance() throws {
        let declined = try reconstruct(force: false, answers: ["y", "n"])
        let prompt = "changing node's balance (node=127.0.0.1:\(declined.port), balance=0 -> 2) (y/n): "
        XCTAssertTrue(declined.console.err.text.contains("reconstructing node (node=127.0.0.1:\(declined.port), role=slave) (y/n/a/q/h:help): "))
        XCTAssertTrue(declined.console.err.text.contains(prompt), declined.console.err.text)
        XCTAssertFalse(declined.requests.contains("node role 127.0.0.1 \(declined.port) slave 2 0"))
        XCTAssertTrue(declined.console.out.text.contains("done.\n"))
        let agreed = try reconstruct(force: false, answers: ["y", "y"])
        XCTAssertTrue(agreed.requests.contains("node role 127.0.0.1 \(agreed.port) slave 2 0"))
        // `a` answers for every node and for the balance too.
        let all = try reconstruct(force: false, answers: ["a"])
        XCTAssertTrue(all.requests.contains("node role 127.0.0.1 \(all.port) slave 2 0"))
        XCTAssertFalse(all.console.err.text.contains("changing node's balance"))
    }

    func testReconstructRefusesUnsafeNodesUnlessAsked() throws {
        let index = try scriptedIndex([("127.0.0.1:1", "master", "active", 0, 1, 16), ("127.0.0.1:2", "slave", "active", 0, 1, 17)]) { _, _ in nil }
        defer { index.stop() }
        let console = TestConsole()
        let address = NodeAddress(host: "127.0.0.1", port: "2")
        XCTAssertEqual(try ReconstructOperation(nodes: [address]).run(console.session(index: index)), .failure)
        XCTAssertTrue(console.out.text.contains("The partition needs one more slave to reconstruct 127.0.0.1:2 safely.\n"))
        let unsafe = TestConsole(answers: ["h", "q"])
        XCTAssertEqual(try ReconstructOperation(nodes: [address], unsafe: true).run(unsafe.session(index: index)), .success)
        XCTAssertTrue(unsafe.out.text.contains("you are trying to reconstruct 127.0.0.1:2 without redanduncy.\n"
                                               + "y: execute, n: skip, a: execute all the left nodes, q: quit, h: help\n"))
        XCTAssertEqual(unsafe.err.text, String(repeating: "reconstructing node (node=127.0.0.1:2, role=slave) (y/n/a/q/h:help): ", count: 2))
        XCTAssertFalse(index.requests.contains { $0.hasPrefix("node") })
    }

    func testDownWithoutAnswerChangesNothingAndWithYesSendsNodeState() throws {
        let index = try scriptedIndex([("127.0.0.1:12121", "proxy", "active", -1, 0, 16)]) { line, nodes in
            if line == "node state 127.0.0.1 12121 down" { nodes[0].2 = "down" }
            return nil
        }
        defer { index.stop() }
        let address = NodeAddress(host: "127.0.0.1", port: "12121")
        let silent = TestConsole()
        XCTAssertEqual(try DownOperation(nodes: [address]).run(silent.session(index: index)), .success)
        XCTAssertEqual(silent.err.text, "turning node down (node=127.0.0.1:12121, state=active -> down) (y/n): \n")
        XCTAssertEqual(index.requests, ["stats nodes", "stats nodes"])
        let agreeing = TestConsole(answers: ["y"])
        _ = try DownOperation(nodes: [address]).run(agreeing.session(index: index))
        XCTAssertEqual(index.requests.last(where: { $0.hasPrefix("node") }), "node state 127.0.0.1 12121 down")
        XCTAssertTrue(agreeing.out.text.hasSuffix("127.0.0.1:12121                          -  proxy   down       0\n"))
        let dry = TestConsole()
        _ = try DownOperation(nodes: [address], force: true).run(dry.session(index: index, dryRun: true))
        XCTAssertEqual(index.requests.filter { $0.hasPrefix("node") }.count, 1)
    }

    func testActivateAsksAgainWhileRefused() throws {
        let refusals = Shared(1)
        let index = try scriptedIndex([("127.0.0.1:12121", "master", "ready", 1, 1, 16)]) { line, _ in
            guard line.hasPrefix("node state") else { return nil }
            return refusals.with { $0 -= 1; return $0 } >= 0 ? "SERVER_ERROR failed to set state\r\n" : nil
        }
        defer { index.stop() }
        let console = TestConsole(answers: ["y", "y"])
        XCTAssertEqual(try ActivateOperation(nodes: [NodeAddress(host: "127.0.0.1", port: "12121")]).run(console.session(index: index)), .success)
        XCTAssertEqual(index.requests.filter { $0.hasPrefix("node") }, Array(repeating: "node state 127.0.0.1 12121 active", count: 2))
        XCTAssertEqual(console.err.text, String(repeating: "turning node up (node=127.0.0.1:12121, state=ready -> activate) (y/n): ", count: 2))
    }

    func testBalanceKeepsRoleAndPartition() throws {
        let index = try scriptedIndex([("127.0.0.1:12121", "slave", "active", 3, 1, 16)]) { _, _ in nil }
        defer { index.stop() }
        let console = TestConsole()
        let assignment = BalanceAssignment(address: NodeAddress(host: "127.0.0.1", port: "12121"), balance: 4)
        _ = try BalanceOperation(assignments: [assignment], force: true).run(console.session(index: index))
        XCTAssertEqual(index.requests, ["stats nodes", "node role 127.0.0.1 12121 slave 4 3", "stats nodes"])
    }

    func testRemoveOnlyProxiesThatAreDown() throws {
        let index = try scriptedIndex([("127.0.0.1:1", "proxy", "down", -1, 0, 16), ("127.0.0.1:2", "slave", "down", 0, 0, 17)]) { line, nodes in
            if line == "node remove 127.0.0.1 1" { nodes.removeFirst() }
            return nil
        }
        defer { index.stop() }
        let refused = TestConsole()
        XCTAssertEqual(try RemoveOperation(nodes: [NodeAddress(host: "127.0.0.1", port: "2")], force: true).run(refused.session(index: index)), .failure)
        XCTAssertEqual(refused.err.text, "node should role=proxy and state=down. (node=127.0.0.1:2 role=slave state=down)\n")
        let console = TestConsole(answers: ["y"])
        XCTAssertEqual(try RemoveOperation(nodes: [NodeAddress(host: "127.0.0.1", port: "1")]).run(console.session(index: index)), .success)
        XCTAssertEqual(console.err.text, "remove the node from a cluster (node=127.0.0.1:1, role=proxy, state=down) (y/n): ")
        XCTAssertTrue(console.out.text.hasPrefix("removing 127.0.0.1:1.\n\nnode "))
        XCTAssertEqual(index.requests.filter { $0.hasPrefix("node") }, ["node remove 127.0.0.1 1"])
    }
}
