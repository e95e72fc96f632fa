import FlareCluster
@testable import FlareNode
import XCTest

/// Who may run `reclaim`, on which partition and count, and which slaves a master passes it to.
final class ReclaimTargetTests: XCTestCase {
    private let cluster = [
        Node.master("m0", of: 0), Node.slave("s0", of: 0), Node.slave("p0", of: 0, .prepare), Node.slave("d0", of: 0, .down),
        Node.master("m1", of: 1), Node.slave("s1", of: 1), Node.proxy("x"),
    ]

    private func target(_ name: String, _ partition: Int? = nil, _ count: Int? = nil) throws -> Result<ReclaimCommand.Target, ReclaimRefusal> {
        ReclaimCommand.target(view: try view(of: cluster, from: name), partition: partition, count: count)
    }

    func testAMasterReclaimsItsPartitionAndPassesItToItsActiveSlavesOnly() throws {
        guard case .success(let chosen) = try target("m0") else { return XCTFail("refused") }
        XCTAssertEqual(chosen.partition, 0)
        XCTAssertEqual(chosen.count, 2)
        XCTAssertEqual(chosen.slaves.map(\.nodeKey), [key("s0")])
    }

    func testASlaveAndAForwardedRequestAreLocalOnly() throws {
        guard case .success(let alone) = try target("s0") else { return XCTFail("refused") }
        XCTAssertEqual(alone.slaves, [])
        guard case .success(let forwarded) = try target("m1", 1, 2) else { return XCTFail("refused") }
        XCTAssertEqual(forwarded.slaves, [], "a master told its partition and count does not pass it on")
    }

    func testRefusals() throws {
        for (name, partition, count, text) in [
            ("x", nil, nil, "SERVER_ERROR reclaim needs an active master or slave (this node is proxy/active)"),
            ("p0", nil, nil, "SERVER_ERROR reclaim needs an active master or slave (this node is slave/prepare)"),
            ("s0", 0, 3, "SERVER_ERROR this node serves partition 0 of 2, not 0 of 3"),
            ("s1", 0, 2, "SERVER_ERROR this node serves partition 1 of 2, not 0 of 2"),
        ] as [(String, Int?, Int?, String)] {
            guard case .failure(let refusal) = try target(name, partition, count) else { XCTFail("\(name) accepted"); continue }
            XCTAssertEqual(refusal.text, text)
        }
    }

    /// A new partition being prepared does not count: its keys still belong to the old owners.
    func testAPreparingPartitionDoesNotChangeTheCount() throws {
        let growing = cluster + [Node.master("m2", of: 2, .prepare)]
        guard case .success(let chosen) = ReclaimCommand.target(view: try view(of: growing, from: "m0"), partition: nil, count: nil) else {
            return XCTFail("refused")
        }
        XCTAssertEqual(chosen.count, 2)
    }
}
