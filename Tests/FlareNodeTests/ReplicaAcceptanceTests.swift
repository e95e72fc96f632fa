import FlareCluster
@testable import FlareNode
import XCTest

/// Which senders' copies a node applies: only the node its own map names as the source of the
/// key's copies. This is the fence against a replaced master's late copies and against a proxy
/// with an old map forwarding a client's write to a former master that is now a slave.
final class ReplicaAcceptanceTests: XCTestCase {
    private func accepts(_ view: ClusterView, _ key: String, from sender: String) -> Bool {
        Array(key.utf8).withUnsafeBytes { view.acceptsReplica(of: $0, from: FlareNodeTests.key(sender)) }
    }

    func testASlaveTakesCopiesOnlyFromItsPartitionsMaster() throws {
        let nodes = [Node.master("m0", of: 0), Node.master("m1", of: 1), Node.slave("s0", of: 0),
                     Node.slave("s1", of: 1), Node.proxy("px")]
        let s0 = try view(of: nodes, from: "s0")
        XCTAssertTrue(accepts(s0, Keys.stays0, from: "m0"))
        XCTAssertFalse(accepts(s0, Keys.stays0, from: "m1"), "the master of another partition")
        XCTAssertFalse(accepts(s0, Keys.stays0, from: "px"), "a proxy forwarding a client's write")
        XCTAssertFalse(accepts(s0, Keys.stays0, from: "s1"))
        XCTAssertFalse(accepts(s0, Keys.stays1, from: "m0"), "a key of another partition")
        XCTAssertFalse(accepts(s0, Keys.stays1, from: "m1"), "a key this slave does not hold")
    }

    func testAPromotedSlaveRefusesItsFormerMaster() throws {
        // After a fail-over: s0 masters partition 0, the old master m0 is down (or back as proxy).
        for old in [Node.master("m0", of: 0, .down), Node.proxy("m0")] {
            let nodes = [old, Node.master("s0", of: 0), Node.slave("s9", of: 0)]
            let s0 = try view(of: nodes, from: "s0")
            XCTAssertFalse(accepts(s0, Keys.stays0, from: "m0"))
            let s9 = try view(of: nodes, from: "s9")
            XCTAssertFalse(accepts(s9, Keys.stays0, from: "m0"), "another slave also fences the old master")
            XCTAssertTrue(accepts(s9, Keys.stays0, from: "s0"))
        }
    }

    func testASlaveBeingBuiltTakesCopiesButADownOneDoesNot() throws {
        let building = try view(of: [Node.master("m0", of: 0), Node.slave("s0", of: 0, .prepare)], from: "s0")
        XCTAssertTrue(accepts(building, Keys.stays0, from: "m0"))
        let down = try view(of: [Node.master("m0", of: 0), Node.slave("s0", of: 0, .down)], from: "s0")
        XCTAssertFalse(accepts(down, Keys.stays0, from: "m0"))
    }

    func testProxiesAndMastersNeverTakeCopiesOfTheirOwnPartition() throws {
        let nodes = [Node.master("m0", of: 0), Node.slave("s0", of: 0), Node.proxy("px")]
        XCTAssertFalse(accepts(try view(of: nodes, from: "px"), Keys.stays0, from: "m0"))
        XCTAssertFalse(accepts(try view(of: nodes, from: "m0"), Keys.stays0, from: "s0"))
    }

    func testThePartitionBeingAddedTakesMovingKeysFromTheirCurrentMaster() throws {
        let nodes = [Node.master("m0", of: 0), Node.master("m1", of: 1), Node.master("m2", of: 2, .prepare),
                     Node.slave("s2", of: 2, .prepare)]
        let m2 = try view(of: nodes, from: "m2")
        XCTAssertTrue(accepts(m2, Keys.moves0, from: "m0"))
        XCTAssertTrue(accepts(m2, Keys.moves1, from: "m1"))
        XCTAssertFalse(accepts(m2, Keys.moves0, from: "m1"), "not the master the key moves from")
        XCTAssertFalse(accepts(m2, Keys.stays0, from: "m0"), "a key that stays in partition 0")
        let s2 = try view(of: nodes, from: "s2")
        XCTAssertTrue(accepts(s2, Keys.moves0, from: "m2"))
        XCTAssertFalse(accepts(s2, Keys.moves0, from: "m0"), "the new partition's slave copies from its own master")
    }

    func testStandaloneTakesNoCopies() throws {
        let alone = ClusterView.standalone(name: "solo", port: 12121, resolver: try KeyResolver())
        XCTAssertFalse(accepts(alone, Keys.stays0, from: "m0"))
    }
}

/// The era stamp on copies and the hand-off of a partition being added.
final class CopyEraTests: XCTestCase {
    private func view(_ nodes: [NodeEntry], from name: String, version: UInt64, after previous: ClusterView?) throws -> ClusterView {
        let map = try NodeMap(nodes)
        return ClusterView(selfKey: key(name), standalone: false, map: map, version: version,
                           layout: try map.partitionLayout(), resolver: try KeyResolver(), previous: previous)
    }

    private func accepts(_ view: ClusterView, _ key: String, from sender: String, stamp: UInt64) -> Bool {
        Array(key.utf8).withUnsafeBytes { view.acceptsCopy(of: $0, from: FlareNodeTests.key(sender), stamp: stamp) }
    }

    func testASlaveTakesOnlyCopiesMadeSinceItsMasterBecameMaster() throws {
        let v3 = try view([Node.proxy("m0"), Node.slave("s0", of: 0, .prepare)], from: "s0", version: 3, after: nil)
        let v4 = try view([Node.master("m0", of: 0), Node.slave("s0", of: 0)], from: "s0", version: 4, after: v3)
        XCTAssertTrue(accepts(v4, Keys.stays0, from: "m0", stamp: 4))
        XCTAssertTrue(accepts(v4, Keys.stays0, from: "m0", stamp: 9), "the master may already act under a newer map")
        XCTAssertFalse(accepts(v4, Keys.stays0, from: "m0", stamp: 3), "made before it was master in any map seen here")
        XCTAssertFalse(accepts(v4, Keys.stays0, from: "m0", stamp: 0))
    }

    func testTheAddedPartitionsMasterTakesTheMovedKeysLateCopiesFromTheirOldMaster() throws {
        let preparing = try view([Node.master("m0", of: 0), Node.master("m1", of: 1), Node.master("m2", of: 2, .ready)],
                                 from: "m2", version: 10, after: nil)
        XCTAssertTrue(accepts(preparing, Keys.moves0, from: "m0", stamp: 10))
        let active = try view([Node.master("m0", of: 0), Node.master("m1", of: 1), Node.master("m2", of: 2)],
                              from: "m2", version: 11, after: preparing)
        XCTAssertEqual(active.handOffVersion, 11)
        XCTAssertTrue(accepts(active, Keys.moves0, from: "m0", stamp: 10), "made while the key was moving")
        XCTAssertTrue(accepts(active, Keys.moves1, from: "m1", stamp: 9))
        XCTAssertFalse(accepts(active, Keys.moves0, from: "m0", stamp: 11), "after the activation m0 forwards such writes")
        XCTAssertFalse(accepts(active, Keys.moves0, from: "m1", stamp: 10), "not the master the key moved from")
        XCTAssertFalse(accepts(active, Keys.stays0, from: "m0", stamp: 10), "a key that did not move")
        let later = try view([Node.master("m0", of: 0), Node.master("m1", of: 1), Node.master("m2", of: 2), Node.proxy("px")],
                             from: "m2", version: 12, after: active)
        XCTAssertEqual(later.handOffVersion, 11, "carried while it stays the active master of the partition")
    }
}
