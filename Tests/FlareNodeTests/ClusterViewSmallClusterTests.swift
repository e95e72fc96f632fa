import FlareCluster
@testable import FlareNode
import XCTest

/// A node alone, one partition, a partition whose master is down, and no partition at all.
final class ClusterViewSmallClusterTests: XCTestCase {
    /// Every key, the empty one included (a single partition needs no hashing).
    private static let allKeys = [Keys.stays0, Keys.stays1, Keys.moves0, Keys.moves1, ""]

    func testStandalone() throws {
        let alone = ClusterView.standalone(name: "localhost", port: 12121, resolver: try KeyResolver())
        XCTAssertTrue(alone.standalone)
        XCTAssertEqual(alone.selfKey, "localhost:12121")
        XCTAssertEqual(alone.me?.role, .master)
        XCTAssertEqual(alone.me?.partition, 0)
        XCTAssertEqual(alone.version, 0)
        assertRoutes(alone, Self.allKeys.map(RouteCase.local))
        assertOnlyMaster(alone)
    }

    func testSingleMasterOwnsEverything() throws {
        let m0 = try view(of: [Node.master("m0", of: 0), Node.proxy("px")], from: "m0")
        XCTAssertFalse(m0.standalone)
        assertRoutes(m0, Self.allKeys.map(RouteCase.local))
        assertOnlyMaster(m0)
    }

    func testSingleMasterWithASlaveStillServesEveryKey() throws {
        let nodes = [Node.master("m0", of: 0), Node.slave("s0", of: 0)]
        let m0 = try view(of: nodes, from: "m0")
        assertRoutes(m0, Self.allKeys.map(RouteCase.local))
        XCTAssertEqual(m0.masterOf, 0)
        XCTAssertEqual(m0.slaveList, ["s0:12121/wait"])
        XCTAssertTrue(m0.mayReplicate)
        XCTAssertEqual(m0.replicas(Keys.stays1), ["s0:12121/wait"])

        let s0 = try view(of: nodes, from: "s0")
        let reads: [Route] = [.local]  // an active slave with read weight
        assertRoutes(s0, Self.allKeys.map { RouteCase($0, write: .forward(key("m0")), reads: reads) })
        XCTAssertFalse(s0.mayReplicate)
    }

    func testADownSlaveGetsNoCopies() throws {
        let m0 = try view(of: [Node.master("m0", of: 0), Node.slave("s0", of: 0, .down)], from: "m0")
        assertRoutes(m0, Self.allKeys.map(RouteCase.local))
        assertOnlyMaster(m0)
    }

    func testProxyOfASingleMaster() throws {
        let px = try view(of: [Node.master("m0", of: 0), Node.proxy("px")], from: "px")
        let owner = Route.forward(key("m0"))
        assertRoutes(px, Self.allKeys.map { RouteCase($0, write: owner, reads: [owner]) })
        XCTAssertEqual(px.masterOf, -1)
        XCTAssertFalse(px.mayReplicate)
    }

    /// Partition 1's master is down and preserved: the partition still counts, so its keys are
    /// not re-hashed onto partition 0, but nobody can serve them.
    func testPreservedDownMaster() throws {
        let nodes = [Node.master("m0", of: 0), Node.master("m1", of: 1, .down), Node.proxy("px")]
        for name in ["m0", "px"] {
            let view = try view(of: nodes, from: name)
            let owner0: Route = name == "m0" ? .local : .forward(key("m0"))
            assertRoutes(view, [
                RouteCase(Keys.stays0, write: owner0, reads: [owner0]),
                RouteCase(Keys.stays1, write: .unavailable, reads: [.unavailable]),
            ])
        }
        // Its own view once it is marked down: it masters nothing.
        let m1 = try view(of: nodes, from: "m1")
        XCTAssertEqual(m1.masterOf, -1)
        assertRoutes(m1, [RouteCase(Keys.stays1, write: .unavailable, reads: [.unavailable])])
    }

    func testReadsOfAPartitionWithADownMasterGoToItsSlave() throws {
        let nodes = [Node.master("m0", of: 0), Node.master("m1", of: 1, .down), Node.slave("s1", of: 1), Node.proxy("px")]
        let px = try view(of: nodes, from: "px")
        assertRoutes(px, [RouteCase(Keys.stays1, write: .unavailable, reads: [.forward(key("s1"))])])
    }

    func testNoPartition() throws {
        let cases: [(nodes: [NodeEntry], name: String)] = [
            ([Node.proxy("px")], "px"),
            ([], "px"),                                   // not in the map yet
            ([Node.proxy("px"), Node.slave("s0", of: 0, .prepare)], "px"),  // skipped: no such partition
        ]
        for (nodes, name) in cases {
            let map = try NodeMap(nodes)
            let view = ClusterView(selfKey: key(name), standalone: false, map: map, version: 1,
                                   layout: try map.partitionLayout(), resolver: try KeyResolver())
            assertRoutes(view, Self.allKeys.map { RouteCase($0, write: .noPartition, reads: [.noPartition]) })
            XCTAssertEqual(view.masterOf, -1)
            XCTAssertFalse(view.mayReplicate)
        }
        let empty = ClusterView(selfKey: key("px"), standalone: false, map: NodeMap(), version: 0, layout: .empty, resolver: try KeyResolver())
        assertRoutes(empty, [RouteCase(Keys.stays0, write: .noPartition, reads: [.noPartition])])
    }

    /// The first master being built: clients have no partition yet, while a write forwarded to it
    /// lands there, as on any preparing master.
    func testFirstPartitionInPrepare() throws {
        let nodes = [Node.master("m0", of: 0, .prepare), Node.proxy("px")]
        let m0 = try view(of: nodes, from: "m0")
        assertRoutes(m0, Self.allKeys.map { RouteCase($0, write: .noPartition, reads: [.noPartition]) })
        let px = try view(of: nodes, from: "px")
        assertRoutes(px, Self.allKeys.map { RouteCase($0, write: .noPartition, reads: [.noPartition]) })
    }

    private func assertOnlyMaster(_ view: ClusterView, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(view.masterOf, 0, file: file, line: line)
        XCTAssertEqual(view.slaveList, [], file: file, line: line)
        XCTAssertFalse(view.mayReplicate, file: file, line: line)
        for key in Self.allKeys {
            XCTAssertEqual(view.replicas(key), [], key, file: file, line: line)
        }
    }
}
