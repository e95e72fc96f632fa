import XCTest
@testable import FlareCluster

/// Partition tables derived from node maps (docs/original-behaviour.md, "Partition tables and node sync").
final class PartitionLayoutTests: XCTestCase {
    private func layout(_ lines: [String]) throws -> PartitionLayout {
        try NodeMap(nodeLines: lines).partitionLayout()
    }

    private func member(_ key: String, _ balance: Int) -> PartitionMember {
        PartitionMember(nodeKey: key, balance: balance)
    }

    func testFreshProxiesHaveNoPartition() throws {
        let tables = try layout([
            "NODE 127.0.0.1 12121 2 0 -1 0 16",
            "NODE 127.0.0.2 12122 2 0 -1 0 18",
            "NODE 127.0.0.3 12123 2 0 -1 0 17",
        ])
        XCTAssertEqual(tables.activeCount, 0)
        XCTAssertEqual(tables.countIncludingPreparing, 0)
        XCTAssertNil(tables.preparing)
        XCTAssertNil(tables.master(of: 0))
        XCTAssertEqual(tables.readers(of: 0), [])
        XCTAssertEqual(tables.skippedNodes, [])
        XCTAssertEqual(tables, .empty)
        XCTAssertEqual(try NodeMap().partitionLayout(), .empty)
    }

    func testTwoActivePartitionsAndOneBeingAdded() throws {
        // Masters 0 and 1 active with slaves, a new master of partition 2 still copying and a
        // slave attached to it; a proxy on the side.
        let tables = try layout([
            "NODE m0 1 0 0 0 2 16",
            "NODE m1 1 0 0 1 1 17",
            "NODE m2 1 0 1 2 1 18",
            "NODE p 1 2 0 -1 0 19",
            "NODE s0 1 1 0 0 1 20",
            "NODE s1a 1 1 0 1 3 21",
            "NODE s1b 1 1 1 1 5 22",
            "NODE s2 1 1 1 2 1 23",
        ])
        XCTAssertEqual(tables.activeCount, 2)
        XCTAssertEqual(tables.countIncludingPreparing, 3)

        XCTAssertEqual(tables.master(of: 0), member("m0:1", 2))
        XCTAssertEqual(tables.partition(0)?.slaves, [member("s0:1", 1)])
        XCTAssertEqual(tables.readers(of: 0), ["m0:1", "m0:1", "s0:1"])

        // A slave still preparing replicates but takes no reads (balance 0 in the tables).
        XCTAssertEqual(tables.master(of: 1), member("m1:1", 1))
        XCTAssertEqual(tables.partition(1)?.slaves, [member("s1a:1", 3), member("s1b:1", 0)])
        XCTAssertEqual(tables.readers(of: 1), ["m1:1", "s1a:1", "s1a:1", "s1a:1"])

        let preparing = try XCTUnwrap(tables.preparing)
        XCTAssertEqual(preparing.number, 2)
        XCTAssertEqual(preparing.master, member("m2:1", 1))
        XCTAssertEqual(preparing.slaves, [member("s2:1", 0)])
        XCTAssertEqual(preparing.readers, ["m2:1"])
        XCTAssertNil(tables.partition(2), "the partition being added is not active yet")
        XCTAssertEqual(tables.skippedNodes, [])
    }

    func testReadyMasterIsStillBeingAdded() throws {
        // docs/original-behaviour.md, "Recorded exchanges": 127.0.0.3:12123 finished copying (ready) and waits for
        // activation.
        let tables = try layout([
            "NODE 127.0.0.1 12121 1 0 0 1 16",
            "NODE 127.0.0.2 12122 0 0 0 1 18",
            "NODE 127.0.0.3 12123 0 3 1 1 17",
            "NODE 127.0.0.4 12124 2 0 -1 0 19",
        ])
        XCTAssertEqual(tables.activeCount, 1)
        XCTAssertEqual(tables.countIncludingPreparing, 2)
        XCTAssertEqual(tables.preparing?.master?.nodeKey, "127.0.0.3:12123")
        XCTAssertEqual(tables.readers(of: 0), ["127.0.0.2:12122", "127.0.0.1:12121"], "master first, then slaves")
    }

    func testPreservedDownMasterKeepsItsPartition() throws {
        // Partition 0's master went down with no active slave: still counted, nobody serves it.
        let tables = try layout([
            "NODE m0 1 0 2 0 1 16",
            "NODE m1 1 0 0 1 1 17",
            "NODE s0 1 1 2 0 1 18",
            "NODE s1 1 1 0 1 1 19",
        ])
        XCTAssertEqual(tables.activeCount, 2)
        XCTAssertEqual(tables.countIncludingPreparing, 2)
        XCTAssertNil(tables.master(of: 0))
        XCTAssertEqual(tables.partition(0)?.slaves, [], "down slaves are left out")
        XCTAssertEqual(tables.readers(of: 0), [])
        XCTAssertEqual(tables.readers(of: 1), ["m1:1", "s1:1"])
        XCTAssertEqual(tables.skippedNodes, [])
    }

    func testDownMasterDoesNotHideTheActiveOne() throws {
        // The down entry sorts first and creates the empty entry; the active master fills it.
        let tables = try layout([
            "NODE a 1 0 2 0 1 16",
            "NODE b 1 0 0 0 1 17",
        ])
        XCTAssertEqual(tables.activeCount, 1)
        XCTAssertEqual(tables.master(of: 0), member("b:1", 1))
        XCTAssertEqual(tables.skippedNodes, [])
    }

    func testAfterFailoverTheFormerMasterIsAProxy() throws {
        // docs/original-behaviour.md, "Recorded exchanges": the slave was promoted, the old master came back as a
        // proxy.
        let tables = try layout([
            "NODE 127.0.0.1 12121 2 0 -1 0 16",
            "NODE 127.0.0.2 12122 0 0 0 1 18",
            "NODE 127.0.0.3 12123 1 0 0 1 17",
        ])
        XCTAssertEqual(tables.activeCount, 1)
        XCTAssertEqual(tables.master(of: 0)?.nodeKey, "127.0.0.2:12122")
        XCTAssertEqual(tables.readers(of: 0), ["127.0.0.2:12122", "127.0.0.3:12123"])
    }

    func testInconsistentNodesAreSkipped() throws {
        let tables = try layout([
            "NODE a 1 0 0 0 1 16",
            "NODE b 1 0 0 0 1 17",
            "NODE c 1 0 0 -1 1 18",
            "NODE d 1 1 0 5 1 19",
            "NODE e 1 1 0 -1 1 20",
            "NODE f 1 1 2 7 1 21",
        ])
        XCTAssertEqual(tables.activeCount, 1)
        XCTAssertEqual(tables.master(of: 0), member("a:1", 1))
        XCTAssertEqual(tables.readers(of: 0), ["a:1"])
        XCTAssertEqual(tables.skippedNodes, [
            .secondMaster(nodeKey: "b:1", partition: 0, existing: "a:1"),
            .noPartitionNumber(nodeKey: "c:1", role: .master),
            .slaveOfUnknownPartition(nodeKey: "d:1", partition: 5),
            .noPartitionNumber(nodeKey: "e:1", role: .slave),
        ], "a down slave is never looked at")
        XCTAssertEqual("\(tables.skippedNodes[0])", "master b:1 of partition 0 skipped: a:1 is already its master")
    }

    func testSecondPreparingMasterIsSkipped() throws {
        let tables = try layout([
            "NODE a 1 0 0 0 1 16",
            "NODE b 1 0 1 1 1 17",
            "NODE c 1 0 3 1 1 18",
        ])
        XCTAssertEqual(tables.preparing?.master?.nodeKey, "b:1")
        XCTAssertEqual(tables.skippedNodes, [.secondPreparingMaster(nodeKey: "c:1", partition: 1, existing: "b:1")])
    }

    func testStructuralViolationsThrow() {
        let cases: [([String], PartitionLayoutError)] = [
            (["NODE a 1 0 0 0 1 16", "NODE b 1 0 0 2 1 17"], .missingActivePartition(1, activeCount: 2)),
            (["NODE a 1 0 0 1 1 16"], .missingActivePartition(0, activeCount: 1)),
            (["NODE a 1 0 0 0 1 16", "NODE b 1 0 1 1 1 17", "NODE c 1 0 1 2 1 18"], .severalPreparingPartitions([1, 2])),
            (["NODE a 1 0 0 0 1 16", "NODE b 1 0 1 2 1 17"], .preparingPartitionNotNext(2, expected: 1)),
            (["NODE a 1 0 0 0 1 16", "NODE b 1 0 1 0 1 17"], .preparingPartitionNotNext(0, expected: 1)),
        ]
        for (lines, expected) in cases {
            XCTAssertThrowsError(try layout(lines), "\(lines)") { error in
                XCTAssertEqual(error as? PartitionLayoutError, expected, "\(lines)")
            }
        }
        XCTAssertEqual("\(PartitionLayoutError.preparingPartitionNotNext(2, expected: 1))",
                       "prepared partition 2 must be the next partition 1")
    }
}
