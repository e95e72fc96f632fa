import FlareCluster
@testable import FlareNode
import XCTest

/// Two active partitions, seen from each of their nodes:
///
///     partition 0: master m0, active slave sa (balance 0), slave sp in prepare
///     partition 1: master m1, active slave sb (balance 2)
///     proxy px
final class ClusterViewTwoPartitionTests: XCTestCase {
    private static let nodes = [
        Node.master("m0", of: 0),
        Node.master("m1", of: 1),
        Node.slave("sa", of: 0, balance: 0),
        Node.slave("sb", of: 1, balance: 2),
        Node.slave("sp", of: 0, .prepare, balance: 1),
        Node.proxy("px"),
    ]

    private func view(_ name: String) throws -> ClusterView { try FlareNodeTests.view(of: Self.nodes, from: name) }

    /// Client reads of partition 0 only reach m0 (sa has no read weight, sp is not active yet);
    /// those of partition 1 are drawn from m1 once and sb twice.
    private static var readers0: [Route] { [.forward(key("m0"))] }
    private static var readers1: [Route] { [.forward(key("m1")), .forward(key("sb"))] }

    func testMasterOfPartition0() throws {
        let m0 = try view("m0")
        assertRoutes(m0, [
            .local(Keys.stays0),
            RouteCase(Keys.stays1, write: .forward(key("m1")), reads: Self.readers1),
        ])
        XCTAssertEqual(m0.masterOf, 0)
        XCTAssertEqual(m0.slaveList, ["sa:12121/wait", "sp:12121/nowait"])
        XCTAssertTrue(m0.mayReplicate)
        XCTAssertEqual(m0.replicas(Keys.stays0), ["sa:12121/wait", "sp:12121/nowait"])
    }

    func testMasterOfPartition1() throws {
        let m1 = try view("m1")
        assertRoutes(m1, [
            RouteCase(Keys.stays0, write: .forward(key("m0")), reads: Self.readers0),
            .local(Keys.stays1),
        ])
        XCTAssertEqual(m1.masterOf, 1)
        XCTAssertEqual(m1.slaveList, ["sb:12121/wait"])
        XCTAssertTrue(m1.mayReplicate)
        XCTAssertEqual(m1.replicas(Keys.stays1), ["sb:12121/wait"])
    }

    func testProxy() throws {
        let px = try view("px")
        assertRoutes(px, [
            RouteCase(Keys.stays0, write: .forward(key("m0")), reads: Self.readers0),
            RouteCase(Keys.stays1, write: .forward(key("m1")), reads: Self.readers1),
        ])
        assertNoReplication(px)
    }

    func testActiveSlaveWithoutReadWeight() throws {
        // It holds partition 0, so forwarded writes (replication) run here, but reads go to m0.
        let sa = try view("sa")
        assertRoutes(sa, [
            RouteCase(Keys.stays0, write: .forward(key("m0")), reads: Self.readers0),
            RouteCase(Keys.stays1, write: .forward(key("m1")), reads: Self.readers1),
        ])
        assertNoReplication(sa)
    }

    func testActiveSlaveWithReadWeight() throws {
        let sb = try view("sb")
        assertRoutes(sb, [
            RouteCase(Keys.stays0, write: .forward(key("m0")), reads: Self.readers0),
            RouteCase(Keys.stays1, write: .forward(key("m1")), reads: [.local]),
        ])
        assertNoReplication(sb)
    }

    func testSlaveInPrepare() throws {
        // Being built: it takes replicated writes but no reads, whatever its balance says.
        let sp = try view("sp")
        assertRoutes(sp, [
            RouteCase(Keys.stays0, write: .forward(key("m0")), reads: Self.readers0),
            RouteCase(Keys.stays1, write: .forward(key("m1")), reads: Self.readers1),
        ])
        assertNoReplication(sp)
    }

    private func assertNoReplication(_ view: ClusterView, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(view.masterOf, -1, file: file, line: line)
        XCTAssertEqual(view.slaveList, [], file: file, line: line)
        XCTAssertFalse(view.mayReplicate, file: file, line: line)
        XCTAssertEqual(view.replicas(Keys.stays0), [], file: file, line: line)
        XCTAssertEqual(view.replicas(Keys.stays1), [], file: file, line: line)
    }
}
