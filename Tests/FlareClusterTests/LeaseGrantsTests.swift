import XCTest
import FlareCluster

/// The index's grant/revoke/expiry bookkeeping for master leases, driven by explicit times.
final class LeaseGrantsTests: XCTestCase {
    func testGrantRecordsReceiptPlusLength() {
        var grants = LeaseGrants()
        XCTAssertTrue(grants.grant("n1:12121", milliseconds: 1000, now: 5_000))
        XCTAssertEqual(grants.expiry(of: "n1:12121"), 6_000)
        XCTAssertTrue(grants.grant("n1:12121", milliseconds: 1000, now: 5_200))
        XCTAssertEqual(grants.expiry(of: "n1:12121"), 6_200)
        XCTAssertNil(grants.expiry(of: "n2:12121"))
    }

    func testAShorterRenewalDoesNotShortenWhatWasGranted() {
        var grants = LeaseGrants()
        _ = grants.grant("n1:12121", milliseconds: 1000, now: 5_000)
        _ = grants.grant("n1:12121", milliseconds: 100, now: 5_100)
        XCTAssertEqual(grants.expiry(of: "n1:12121"), 6_000)
    }

    func testLengthIsBounded() {
        var grants = LeaseGrants()
        _ = grants.grant("n1:12121", milliseconds: .max / 2, now: 0)
        XCTAssertEqual(grants.expiry(of: "n1:12121"), LeaseGrants.maximumMilliseconds)
        _ = grants.grant("n2:12121", milliseconds: -5, now: 10)
        XCTAssertEqual(grants.expiry(of: "n2:12121"), 10)
    }

    func testRevokeRefusesGrantsAndTellsWhenTheLastOneEnds() {
        var grants = LeaseGrants()
        _ = grants.grant("n1:12121", milliseconds: 1000, now: 5_000)
        XCTAssertEqual(grants.revoke("n1:12121", now: 5_700), 6_000)
        XCTAssertTrue(grants.isRevoked("n1:12121"))
        XCTAssertFalse(grants.grant("n1:12121", milliseconds: 1000, now: 5_800))
        XCTAssertEqual(grants.revoke("n1:12121", now: 5_900), 6_000, "a refused renewal extends nothing")
        XCTAssertTrue(grants.grant("n2:12121", milliseconds: 1000, now: 5_800), "other nodes are not affected")
    }

    func testRevokeAfterExpiryOrWithoutGrantIsDueAtOnce() {
        var grants = LeaseGrants()
        _ = grants.grant("n1:12121", milliseconds: 1000, now: 5_000)
        XCTAssertEqual(grants.revoke("n1:12121", now: 7_000), 7_000)
        XCTAssertEqual(grants.revoke("n3:12121", now: 7_000), 7_000)
        XCTAssertFalse(grants.grant("n3:12121", milliseconds: 1000, now: 7_100), "revoked before it ever renewed")
    }

    func testRestoreResumesGrantingAndKeepsThePastGrants() {
        var grants = LeaseGrants()
        _ = grants.grant("n1:12121", milliseconds: 1000, now: 5_000)
        _ = grants.revoke("n1:12121", now: 5_500)
        grants.restore("n1:12121")
        XCTAssertFalse(grants.isRevoked("n1:12121"))
        XCTAssertEqual(grants.expiry(of: "n1:12121"), 6_000)
        XCTAssertTrue(grants.grant("n1:12121", milliseconds: 1000, now: 5_600))
        XCTAssertEqual(grants.revoke("n1:12121", now: 5_700), 6_600)
    }

    func testForgetStartsAfresh() {
        var grants = LeaseGrants()
        _ = grants.grant("n1:12121", milliseconds: 1000, now: 5_000)
        _ = grants.revoke("n1:12121", now: 5_500)
        grants.forget("n1:12121")
        XCTAssertFalse(grants.isRevoked("n1:12121"))
        XCTAssertNil(grants.expiry(of: "n1:12121"))
        XCTAssertTrue(grants.grant("n1:12121", milliseconds: 1000, now: 6_100))
    }
}
