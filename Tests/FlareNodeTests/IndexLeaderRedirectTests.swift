import FlareConfig
@testable import FlareNode
import XCTest

/// A follower index refuses a lease and names the leader; the lease thread goes there next.
final class IndexLeaderRedirectTests: XCTestCase {
    func testLeaderNamedInARefusal() {
        XCTAssertEqual(IndexClient.leader(named: "SERVER_ERROR not the leading index server; the leader is idx2.example:12120"),
                       IndexServerAddress(name: "idx2.example", port: 12120))
        XCTAssertNil(IndexClient.leader(named: "SERVER_ERROR not the leading index server, and no index server leads at the moment"))
        XCTAssertNil(IndexClient.leader(named: "SERVER_ERROR not the leading index server; the leader is idx2"))
        XCTAssertNil(IndexClient.leader(named: "SERVER_ERROR not the leading index server; the leader is idx2:99999"))
        XCTAssertNil(IndexClient.leader(named: "SERVER_ERROR not the leading index server; the leader is :12120"))
    }
}
