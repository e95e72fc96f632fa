import FlareCluster
import XCTest

/// rejoin-as-slave with a recorded progress: a former slave keeps its data and tries its master's
/// backlog; anything else (a former master, another master, a refused backlog) copies afresh.
final class NodeCoreCatchUpTests: XCTestCase {
    private func node(_ n: Int, _ role: NodeRole, _ state: NodeState, _ partition: Int = -1, balance: Int = 1) -> NodeEntry {
        NodeEntry(name: "10.0.0.\(n)", port: 12121, role: role, state: state,
                  partition: role == .proxy ? -1 : partition, balance: balance, threadType: 16)
    }

    private func map(_ entries: NodeEntry...) -> NodeMap { try! NodeMap(entries) }

    private let rejoinLine = "node role 10.0.0.1 12121 slave 0 1"
    private let fullCopy = NodeConstruction(role: .slave, partition: 1, sources: [
        .init(node: NodeEntry(name: "10.0.0.2", port: 12121, role: .master, state: .active, partition: 1, balance: 1, threadType: 16),
              request: "dump 0 1 2"),
    ])

    private func progress(master: String = "10.0.0.2:12121", partition: Int = 1) -> SlaveProgress {
        SlaveProgress(master: master, partition: partition, appliedVersion: 5_000_000, mapVersion: 9)
    }

    /// Node 1 restarted (formerly `formerRole` of partition 1), registered as proxy/active in a
    /// two-partition cluster, asked to rejoin; returns the core and the effects of that step.
    private func rejoined(formerRole: NodeRole, progress: SlaveProgress?) -> (NodeCore, [NodeEffect]) {
        var core = NodeCore(configuration: .init(name: "10.0.0.1", port: 12121, hasIndex: true, leaseMilliseconds: 1000))
        _ = core.step(.started(formerMember: true, formerPartition: 1, rejoinAsSlave: true,
                               formerRole: formerRole, progress: progress, now: 0))
        let effects = core.step(.mapPushed(version: 10, map: map(node(1, .proxy, .active), node(3, .master, .active, 0),
                                                                 node(2, .master, .active, 1))))
        return (core, effects)
    }

    private func madeSlave(_ core: inout NodeCore) -> [NodeEffect] {
        _ = core.step(.toldIndex(line: rejoinLine, accepted: true))
        return core.step(.mapPushed(version: 11, map: map(node(1, .slave, .prepare, 1, balance: 0), node(3, .master, .active, 0),
                                                          node(2, .master, .active, 1))))
    }

    private func catchUps(_ effects: [NodeEffect]) -> [NodeConstruction.Source] {
        effects.compactMap { if case .catchUp(let source) = $0 { source } else { nil } }
    }

    private func constructions(_ effects: [NodeEffect]) -> [NodeConstruction] {
        effects.compactMap { if case .construct(let c) = $0 { c } else { nil } }
    }

    func testFormerSlaveKeepsItsDataAndCatchesUpFromTheBacklog() {
        var (core, asked) = rejoined(formerRole: .slave, progress: progress())
        XCTAssertFalse(asked.contains(.clearData), "the data is the base of the catch-up")
        XCTAssertTrue(asked.contains(.tellIndex(rejoinLine)))
        let effects = madeSlave(&core)
        XCTAssertEqual(catchUps(effects), [.init(node: node(2, .master, .active, 1), request: "backlog 5000000 1 2")])
        XCTAssertEqual(constructions(effects), [], "no full copy")
        XCTAssertFalse(effects.contains(.clearData))
        let finished = core.step(.catchUpFinished(.caughtUp(copies: 42, milliseconds: 7)))
        XCTAssertTrue(finished.contains(.tellIndex("node state 10.0.0.1 12121 active")))
        XCTAssertTrue(finished.contains(.log(.notice, "caught up 42 copies from the backlog in 7 ms")))
        XCTAssertEqual(constructions(finished), [])
        XCTAssertTrue(core.step(.catchUpFinished(.caughtUp(copies: 1, milliseconds: 1))).isEmpty, "reported once")
    }

    func testRefusedBacklogClearsTheDataAndCopiesEverything() {
        var (core, _) = rejoined(formerRole: .slave, progress: progress())
        _ = madeSlave(&core)
        let effects = core.step(.catchUpFinished(.failed("backlog does not reach 4000000")))
        // The clear runs before the copy: effects execute in order.
        XCTAssertEqual(effects.filter { if case .construct = $0 { true } else { $0 == .clearData } },
                       [.clearData, .construct(fullCopy)])
        XCTAssertTrue(effects.contains(.log(.notice, "backlog does not reach 4000000: full copy")))
        XCTAssertFalse(effects.contains { if case .tellIndex = $0 { true } else { false } }, "not active before the copy")
        XCTAssertTrue(core.step(.constructionFinished(ok: true)).contains(.tellIndex("node state 10.0.0.1 12121 active")))
    }

    func testFormerMasterAlwaysCopiesAfresh() {
        var (core, asked) = rejoined(formerRole: .master, progress: progress())
        XCTAssertTrue(asked.contains(.clearData))
        let effects = madeSlave(&core)
        XCTAssertEqual(catchUps(effects), [])
        XCTAssertEqual(constructions(effects), [fullCopy])
    }

    func testSlaveWithoutARecordCopiesAfresh() {
        var (core, asked) = rejoined(formerRole: .slave, progress: nil)
        XCTAssertTrue(asked.contains(.clearData))
        XCTAssertEqual(constructions(madeSlave(&core)), [fullCopy])
    }

    /// The partition has another master now: the data may hold writes that master never got.
    func testAnotherMasterMeansAFullCopy() {
        var (core, asked) = rejoined(formerRole: .slave, progress: progress(master: "10.0.0.4:12121"))
        XCTAssertFalse(asked.contains(.clearData))
        let effects = madeSlave(&core)
        XCTAssertEqual(catchUps(effects), [])
        XCTAssertEqual(effects.filter { if case .construct = $0 { true } else { $0 == .clearData } },
                       [.clearData, .construct(fullCopy)])
    }

    func testProgressOfAnotherPartitionIsIgnored() {
        var (core, asked) = rejoined(formerRole: .slave, progress: progress(partition: 0))
        XCTAssertTrue(asked.contains(.clearData))
        XCTAssertEqual(catchUps(madeSlave(&core)), [])
    }

    /// The index kept the node in another role: the progress is dropped, so a later proxy→slave
    /// change does not try a stale backlog.
    func testProgressIsDroppedWhenTheRejoinEnds() {
        var core = NodeCore(configuration: .init(name: "10.0.0.1", port: 12121, hasIndex: true, leaseMilliseconds: 1000))
        _ = core.step(.started(formerMember: true, formerPartition: 0, rejoinAsSlave: true, formerRole: .slave,
                               progress: progress(master: "10.0.0.2:12121", partition: 0), now: 0))
        XCTAssertTrue(core.step(.mapPushed(version: 3, map: map(node(1, .master, .active, 0)))).contains {
            if case .log(_, let text) = $0 { text.contains("kept this node as master") } else { false }
        })
        _ = core.step(.mapPushed(version: 4, map: map(node(1, .proxy, .active), node(2, .master, .active, 0))))
        let effects = core.step(.mapPushed(version: 5, map: map(node(1, .slave, .prepare, 0, balance: 0), node(2, .master, .active, 0))))
        XCTAssertEqual(catchUps(effects), [])
        XCTAssertEqual(constructions(effects).count, 1)
    }
}
