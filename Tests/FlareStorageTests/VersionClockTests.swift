import Synchronization
import XCTest
@testable import FlareStorage

final class VersionClockTests: XCTestCase {
    func testNextIsTheLargerOfLastPlusOneAndTheTime() {
        let time = ManualTime(100)
        let clock = VersionClock(microseconds: time.read)
        XCTAssertEqual(clock.next(), 100)
        XCTAssertEqual(clock.next(), 101, "the time stands still: the counter moves on")
        time.set(500)
        XCTAssertEqual(clock.next(), 500)
        time.set(50)
        XCTAssertEqual(clock.next(), 501, "a clock stepping back does not move versions back")
        XCTAssertEqual(clock.current, 501)
    }

    func testNextAfterStaysAboveTheGivenVersion() {
        let clock = VersionClock(microseconds: ManualTime(100).read)
        XCTAssertEqual(clock.next(after: 900), 901)
        XCTAssertEqual(clock.next(), 902)
        XCTAssertEqual(clock.next(after: 10), 903)
    }

    func testObserveOnlyMovesForward() {
        let clock = VersionClock(microseconds: ManualTime(100).read)
        clock.observe(1_000)
        XCTAssertEqual(clock.current, 1_000)
        clock.observe(10)
        XCTAssertEqual(clock.current, 1_000)
        XCTAssertEqual(clock.next(), 1_001)
        clock.observe(1_001)
        XCTAssertEqual(clock.next(), 1_002)
    }

    func testTheDefaultTimeIsWallClockMicroseconds() {
        let before = UInt64(Date().timeIntervalSince1970 * 1_000_000)
        let version = VersionClock().next()
        let after = UInt64(Date().timeIntervalSince1970 * 1_000_000)
        // Date and CLOCK_REALTIME round differently; a millisecond of slack covers that.
        XCTAssertGreaterThanOrEqual(version + 1_000, before)
        XCTAssertLessThanOrEqual(version, after + 1_000)
    }

    func testConcurrentCallersGetUniqueVersionsInOrder() {
        // A standing time makes every call race on the counter alone.
        let clock = VersionClock(microseconds: ManualTime(1).read)
        let threads = 4
        let perThread = 50_000
        let results = Mutex<[[UInt64]]>(Array(repeating: [], count: threads))
        runConcurrently(threads) { thread in
            var mine: [UInt64] = []
            mine.reserveCapacity(perThread)
            for index in 0..<perThread {
                if index % 1000 == 0 { clock.observe(clock.current / 2) }   // observing the past changes nothing
                mine.append(clock.next())
            }
            results.withLock { $0[thread] = mine }
        }
        let all = results.withLock { $0 }
        for (thread, versions) in all.enumerated() {
            XCTAssertEqual(versions.count, perThread)
            XCTAssertTrue(zip(versions, versions.dropFirst()).allSatisfy { $0 < $1 }, "thread \(thread) went back")
        }
        let unique = Set(all.joined())
        XCTAssertEqual(unique.count, threads * perThread, "a version was issued twice")
        XCTAssertEqual(unique.max(), UInt64(threads * perThread), "no version was skipped")
        XCTAssertEqual(clock.current, UInt64(threads * perThread))
    }
}
