#if canImport(Glibc)
import Glibc
#endif
import FlareCluster
import Foundation
@testable import FlareNode
import XCTest

/// How workers read the control plane's serving decision (the decisions themselves are tested
/// in NodeCoreTests).
final class StallGuardTests: XCTestCase {
    func testOpenInitially() {
        for watches in [false, true] {
            let guardian = StallGuard(watchesStalls: watches)
            for version: UInt64 in [0, 1, 42, .max] {
                XCTAssertEqual(guardian.check(version: version), .serve, "\(version)")
            }
        }
    }

    func testPublishedVersionFloorRefusesOlderMaps() {
        let cases: [(floor: UInt64, version: UInt64, batch: StallGuard.Batch)] = [
            (0, 0, .serve), (7, 0, .refuseData), (7, 6, .refuseData), (7, 7, .serve), (7, .max, .serve),
            (.max, .max - 1, .refuseData),
        ]
        for (floor, version, batch) in cases {
            let guardian = StallGuard(watchesStalls: true)
            guardian.publish(ServingDecision(minimumVersion: floor, masterUntil: .max, heardAt: .min))
            XCTAssertEqual(guardian.check(version: version), batch, "floor \(floor), map \(version)")
        }
    }

    /// A lease that ran out refuses acting as master only; data refusals win over it.
    func testLeaseExpiryRefusesActingAsMaster() {
        let guardian = StallGuard(watchesStalls: true)
        let now = StallGuard.nowMilliseconds()
        guardian.publish(ServingDecision(minimumVersion: 0, masterUntil: now + 60_000, heardAt: now))
        XCTAssertEqual(guardian.check(version: 1), .serve)
        guardian.publish(ServingDecision(minimumVersion: 0, masterUntil: now - 1, heardAt: now - 1_001))
        XCTAssertEqual(guardian.check(version: 1), .refuseMaster)
        XCTAssertGreaterThanOrEqual(guardian.silentMilliseconds() ?? 0, 1_001)
        guardian.publish(ServingDecision(minimumVersion: 5, masterUntil: now - 1, heardAt: now - 1_001))
        XCTAssertEqual(guardian.check(version: 1), .refuseData)
        guardian.publish(ServingDecision(minimumVersion: 0, masterUntil: .min, heardAt: .min))
        XCTAssertNil(guardian.silentMilliseconds())
    }

    /// The ticker is not running, so sleeping past a second looks exactly like a suspension to the
    /// worker that checks next; once the ticker runs it reports the stall before stamping again.
    func testAStaleStampRefusesDataUntilTheTickerReports() {
        let guardian = StallGuard(watchesStalls: true)
        let stalls = StallCounter()
        guardian.onStall = { _ in
            stalls.increment()
            guardian.publish(ServingDecision(minimumVersion: .max, masterUntil: .max, heardAt: .min))
        }
        XCTAssertEqual(guardian.check(version: 10), .serve)
        usleep(1_200_000)
        XCTAssertEqual(guardian.check(version: 10), .refuseData)
        guardian.start()
        usleep(400_000)
        XCTAssertEqual(stalls.count, 1, "one stall is reported once")
        XCTAssertEqual(guardian.check(version: 10), .refuseData)
        guardian.publish(ServingDecision(minimumVersion: 10, masterUntil: .max, heardAt: .min))
        XCTAssertEqual(guardian.check(version: 10), .serve)
    }

    /// Without index servers nothing stamps, and nothing may fence: a standalone node always serves.
    func testAStandaloneNodeIgnoresTheStamp() {
        let guardian = StallGuard(watchesStalls: false)
        usleep(1_100_000)
        XCTAssertEqual(guardian.check(version: 0), .serve)
    }
}

private final class StallCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func increment() { lock.lock(); value += 1; lock.unlock() }
    var count: Int { lock.lock(); defer { lock.unlock() }; return value }
}
