import FlareZooKeeper
import XCTest

/// The znode layout of the original flarei, under the root of `index-db = zookeeper://…/<root>`.
final class IndexTreeTests: XCTestCase {
    func testLayoutUnderTheRoot() {
        let tree = IndexTree(root: "/flare/cluster1/")
        XCTAssertEqual(tree.root, "/flare/cluster1")
        XCTAssertEqual([tree.index, tree.lock, tree.primary, tree.servers, tree.nodemap, tree.meta],
                       ["/flare/cluster1/index", "/flare/cluster1/index/lock", "/flare/cluster1/index/primary",
                        "/flare/cluster1/index/servers", "/flare/cluster1/index/nodemap", "/flare/cluster1/index/meta"])
        XCTAssertEqual(IndexTree(root: "/").index, "/index")
    }

    func testLockSequenceNumbers() {
        XCTAssertEqual(IndexTree.lockSequence(of: "0a1b2c3d-0000-4000-8000-00000000abcd-lock-0000000012"), 12)
        XCTAssertEqual(IndexTree.lockSequence(of: "x-lock-2147483647"), 2_147_483_647)
        XCTAssertNil(IndexTree.lockSequence(of: "lock"))
        XCTAssertNil(IndexTree.lockSequence(of: "x-lock-"))
        XCTAssertNil(IndexTree.lockSequence(of: "x-lock-12a"))
        // The lowest sequence leads, whatever the uuid prefixes sort like.
        let names = ["ffff-lock-0000000007", "0000-lock-0000000009", "aaaa-lock-0000000003"]
        XCTAssertEqual(IndexTree.leaderFirst(names), ["aaaa-lock-0000000003", "ffff-lock-0000000007", "0000-lock-0000000009"])
    }
}
