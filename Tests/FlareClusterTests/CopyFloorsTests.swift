import XCTest
@testable import FlareCluster

/// The era fence on copies: a copy is applied only if its stamp is newer than the last map the
/// receiver saw its sender anywhere else in.
final class CopyFloorsTests: XCTestCase {
    private func map(_ lines: String...) -> NodeMap { try! NodeMap(nodeLines: lines) }

    func testAStableMasterKeepsTheFloorOfTheMapItBecameMasterAfter() {
        var floors = CopyFloors().next(map: map("NODE m 1 2 0 -1 0 16", "NODE s 1 2 0 -1 0 17"), version: 3)
        floors = floors.next(map: map("NODE m 1 0 0 0 1 16", "NODE s 1 2 0 -1 0 17"), version: 4)
        XCTAssertEqual(floors.floor(for: "m:1"), 3, "copies made under map 4 and later")
        floors = floors.next(map: map("NODE m 1 0 0 0 1 16", "NODE s 1 1 1 0 0 17"), version: 5)
        floors = floors.next(map: map("NODE m 1 0 0 0 1 16", "NODE s 1 1 0 0 1 17"), version: 6)
        XCTAssertEqual(floors.floor(for: "m:1"), 3, "other nodes' changes are no new era for m")
    }

    func testBalanceAndPrepareToActiveAreTheSameEra() {
        var floors = CopyFloors().next(map: map("NODE n 1 0 1 1 1 16"), version: 7)      // preparing master
        floors = floors.next(map: map("NODE n 1 0 3 1 1 16"), version: 8)               // ready
        floors = floors.next(map: map("NODE n 1 0 0 1 5 16"), version: 9)               // active, new balance
        XCTAssertEqual(floors.floor(for: "n:1"), 0, "its copies queued while preparing still count")
    }

    func testAMasterThatWentDownAndCameBackStartsANewEra() {
        var floors = CopyFloors().next(map: map("NODE m 1 0 0 0 1 16"), version: 2)
        floors = floors.next(map: map("NODE m 1 0 2 0 1 16"), version: 5)               // preserved, down
        floors = floors.next(map: map("NODE m 1 0 0 0 1 16"), version: 6)               // resumed
        XCTAssertEqual(floors.floor(for: "m:1"), 5, "copies made before it went down are refused")
    }

    func testAReplacedMasterThatIsMasterAgainIsFencedByTheMapsInBetween() {
        var floors = CopyFloors().next(map: map("NODE a 1 0 0 0 1 16", "NODE b 1 1 0 0 1 17"), version: 10)
        floors = floors.next(map: map("NODE a 1 2 2 -1 0 16", "NODE b 1 0 0 0 1 17"), version: 11)
        floors = floors.next(map: map("NODE a 1 1 0 0 1 16", "NODE b 1 0 0 0 1 17"), version: 14)
        floors = floors.next(map: map("NODE a 1 0 0 0 1 16", "NODE b 1 2 2 -1 0 17"), version: 20)
        XCTAssertEqual(floors.floor(for: "a:1"), 14, "a's copies from before map 14 (its first era) are refused")
        XCTAssertEqual(floors.floor(for: "b:1"), 14)
    }

    func testVersionsThatGoBackStartOver() {
        var floors = CopyFloors().next(map: map("NODE m 1 2 0 -1 0 16"), version: 40)
        floors = floors.next(map: map("NODE m 1 0 0 0 1 16"), version: 41)
        XCTAssertEqual(floors.floor(for: "m:1"), 40)
        floors = floors.next(map: map("NODE m 1 0 0 0 1 16"), version: 2)               // an index that started over
        XCTAssertEqual(floors.floor(for: "m:1"), 0)
    }
}
