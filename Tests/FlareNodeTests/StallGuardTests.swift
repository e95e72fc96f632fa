#if canImport(Glibc)
import Glibc
#endif
import Foundation
@testable import FlareNode
import XCTest

/// The fence that keeps a node which was suspended from serving with an outdated map.
final class StallGuardTests: XCTestCase {
    func testNoFenceInitially() {
        let guardian = StallGuard()
        for version: UInt64 in [0, 1, 42, .max] {
            XCTAssertFalse(guardian.fences(version: version), "\(version)")
        }
    }

    /// A restarted cluster member is fenced until the index sends it any map.
    func testRestartFenceLiftsWithTheFirstMapFromTheIndex() {
        let guardian = StallGuard()
        guardian.fence()
        XCTAssertTrue(guardian.fences(version: 0))
        XCTAssertTrue(guardian.fences(version: 1_000))
        guardian.heardFromIndex(version: 5)
        XCTAssertFalse(guardian.fences(version: 5))
        XCTAssertTrue(guardian.fences(version: 4))
        // Without a restart fence, a map from the index changes nothing.
        let open = StallGuard()
        open.heardFromIndex(version: 9)
        XCTAssertFalse(open.fences(version: 0))
    }

    /// After a stall only a map fetched afresh (`confirmed`) lifts the fence: a push that was
    /// buffered while the process was stopped may be stale.
    func testAStallFenceIsNotLiftedByAPush() {
        let guardian = StallGuard()
        guardian.confirmed(version: .max)   // what a detected stall sets
        guardian.heardFromIndex(version: 3)
        XCTAssertTrue(guardian.fences(version: 3))
        guardian.confirmed(version: 3)
        XCTAssertFalse(guardian.fences(version: 3))
    }

    func testConfirmedFencesOnlyOlderMaps() {
        let cases: [(confirmed: UInt64, version: UInt64, fenced: Bool)] = [
            (0, 0, false),
            (7, 0, true),
            (7, 6, true),
            (7, 7, false),
            (7, 8, false),
            (7, .max, false),
            (.max, .max - 1, true),
        ]
        for (confirmed, version, fenced) in cases {
            let guardian = StallGuard()
            guardian.confirmed(version: confirmed)
            XCTAssertEqual(guardian.fences(version: version), fenced, "confirmed \(confirmed), map \(version)")
        }
    }

    /// The guard is created (stamped) but its ticker is not running, so sleeping past a second
    /// looks exactly like a suspension to the worker that checks next.
    func testAStallFencesEveryMapUntilTheIndexConfirms() {
        let guardian = StallGuard()
        let stalls = StallCounter()
        guardian.onStall = { stalls.increment() }
        XCTAssertFalse(guardian.fences(version: 10))

        usleep(1_200_000)
        XCTAssertTrue(guardian.fences(version: 10))
        XCTAssertTrue(guardian.fences(version: .max - 1))
        XCTAssertEqual(stalls.count, 1, "one stall is reported once")

        // The ticker stamps again, but the fence stays up until a confirmation.
        guardian.start()
        usleep(400_000)
        XCTAssertTrue(guardian.fences(version: 10))
        XCTAssertEqual(stalls.count, 1)

        guardian.confirmed(version: 10)
        XCTAssertFalse(guardian.fences(version: 10))
        XCTAssertFalse(guardian.fences(version: 11))
        XCTAssertTrue(guardian.fences(version: 9))
        XCTAssertEqual(stalls.count, 1)
    }
}

/// Counts `onStall` calls, which may come from the ticker thread.
private final class StallCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func increment() { lock.withLock { value += 1 } }
    var count: Int { lock.withLock { value } }
}
