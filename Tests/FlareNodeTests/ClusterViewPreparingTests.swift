import FlareCluster
@testable import FlareNode
import XCTest

/// A third partition being added, seen from each node:
///
///     partition 0: master m0, active slave sa (balance 0)
///     partition 1: master m1, no slave
///     partition 2 (being added): master m2 in prepare or ready, slave s2 in prepare
///     proxy px
///
/// Clients still route with two partitions; writes of keys that will move to partition 2
/// (`Keys.moves0`, `Keys.moves1`) are copied to m2, which copies them on to s2.
final class ClusterViewPreparingTests: XCTestCase {
    private func nodes(_ preparing: NodeState) -> [NodeEntry] {
        [
            Node.master("m0", of: 0),
            Node.master("m1", of: 1),
            Node.master("m2", of: 2, preparing),
            Node.slave("sa", of: 0, balance: 0),
            Node.slave("s2", of: 2, .prepare),
            Node.proxy("px"),
        ]
    }

    private let preparingStates: [NodeState] = [.prepare, .ready]

    /// `key` on node `name` routed to its owner among the two active partitions, as clients'
    /// requests are (nowhere near m2 yet).
    private func routed(_ key: String, on name: String) -> RouteCase {
        let owner = [Keys.stays0: "m0", Keys.moves0: "m0", Keys.stays1: "m1", Keys.moves1: "m1"][key]!
        let route: Route = owner == name ? .local : .forward(FlareNodeTests.key(owner))
        return RouteCase(key, write: route, reads: [route])
    }

    func testMasterWithASlaveCopiesMovingKeysToThePreparingMaster() throws {
        for state in preparingStates {
            let m0 = try view(of: nodes(state), from: "m0")
            assertRoutes(m0, [.local(Keys.stays0), .local(Keys.moves0), routed(Keys.stays1, on: "m0")])
            XCTAssertEqual(m0.masterOf, 0)
            XCTAssertEqual(m0.slaveList, ["sa:12121/wait"])
            XCTAssertTrue(m0.mayReplicate)
            XCTAssertEqual(m0.replicas(Keys.stays0), ["sa:12121/wait"], "\(state)")
            XCTAssertEqual(m0.replicas(Keys.moves0), ["sa:12121/wait", "m2:12121/nowait"], "\(state)")
        }
    }

    func testMasterWithoutSlavesReplicatesOnlyMovingKeys() throws {
        for state in preparingStates {
            let m1 = try view(of: nodes(state), from: "m1")
            assertRoutes(m1, [.local(Keys.stays1), .local(Keys.moves1)])
            XCTAssertEqual(m1.masterOf, 1)
            XCTAssertEqual(m1.slaveList, [])
            XCTAssertTrue(m1.mayReplicate, "the preparing master may need copies")
            XCTAssertEqual(m1.replicas(Keys.stays1), [], "\(state)")
            XCTAssertEqual(m1.replicas(Keys.moves1), ["m2:12121/nowait"], "\(state)")
        }
    }

    func testPreparingMasterTakesForwardedWritesOfMovingKeysAndCopiesThemToItsSlaves() throws {
        for state in preparingStates {
            let m2 = try view(of: nodes(state), from: "m2")
            assertRoutes(m2, [
                routed(Keys.moves0, on: "m2"),
                routed(Keys.moves1, on: "m2"),
                routed(Keys.stays0, on: "m2"),
                routed(Keys.stays1, on: "m2"),
            ])
            XCTAssertEqual(m2.masterOf, -1)
            XCTAssertEqual(m2.slaveList, [])
            XCTAssertTrue(m2.mayReplicate)
            XCTAssertEqual(m2.replicas(Keys.moves0), ["s2:12121/nowait"], "\(state)")
            XCTAssertEqual(m2.replicas(Keys.moves1), ["s2:12121/nowait"], "\(state)")
        }
    }

    func testSlaveOfThePreparingPartitionTakesForwardedWritesOfMovingKeys() throws {
        for state in preparingStates {
            let s2 = try view(of: nodes(state), from: "s2")
            assertRoutes(s2, [
                routed(Keys.moves0, on: "s2"),
                routed(Keys.moves1, on: "s2"),
                routed(Keys.stays0, on: "s2"),
                routed(Keys.stays1, on: "s2"),
            ])
            assertNoReplication(s2)
        }
    }

    func testOtherNodesIgnoreThePreparingPartition() throws {
        for state in preparingStates {
            let px = try view(of: nodes(state), from: "px")
            assertRoutes(px, [Keys.stays0, Keys.moves0, Keys.stays1, Keys.moves1].map { routed($0, on: "px") })
            assertNoReplication(px)

            // A slave of partition 0 holds the moving keys until partition 2 is active.
            let sa = try view(of: nodes(state), from: "sa")
            assertRoutes(sa, [routed(Keys.moves0, on: "sa"), routed(Keys.moves1, on: "sa")])
            assertNoReplication(sa)
        }
    }

    private func assertNoReplication(_ view: ClusterView, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(view.masterOf, -1, file: file, line: line)
        XCTAssertFalse(view.mayReplicate, file: file, line: line)
        XCTAssertEqual(view.replicas(Keys.moves0), [], file: file, line: line)
        XCTAssertEqual(view.replicas(Keys.moves1), [], file: file, line: line)
    }
}
