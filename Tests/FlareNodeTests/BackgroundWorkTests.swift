import Foundation
import Synchronization
import XCTest
@testable import FlareNode

/// The owner of background jobs: stopping tells jobs, wakes blocked ones, waits for all, and
/// refuses new ones.
final class BackgroundWorkTests: XCTestCase {
    func testStopAllWaitsForJobsAndRefusesNewOnes() {
        let work = BackgroundWork()
        let batches = Atomic<Int>(0)
        let finished = Atomic<Bool>(false)
        XCTAssertTrue(work.spawn("batches") { job in
            while !job.isStopping {
                batches.add(1, ordering: .relaxed)
                usleep(1000)
            }
            usleep(100_000)  // finishing the last batch takes a while: stopAll must wait for it
            finished.store(true, ordering: .releasing)
        })
        XCTAssertTrue(waitFor { batches.load(ordering: .relaxed) > 3 })
        XCTAssertEqual(work.running, ["batches"])
        XCTAssertEqual(work.stopAll(timeout: 5), [])
        XCTAssertTrue(finished.load(ordering: .acquiring), "stopAll returned before the job did")
        XCTAssertEqual(work.running, [])
        XCTAssertFalse(work.spawn("late") { _ in XCTFail("a job started after shutdown") })
    }

    func testStopAllWakesABlockedJob() {
        let work = BackgroundWork()
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds), 0)
        let fd = fds[0]
        defer { close(fds[0]); close(fds[1]) }
        let woke = Atomic<Bool>(false)
        work.spawn("blocked read") { job in
            job.whenStopping { _ = shutdown(fd, Int32(SHUT_RDWR)) }
            var byte: UInt8 = 0
            _ = read(fd, &byte, 1)  // blocks until shut down
            woke.store(true, ordering: .releasing)
        }
        usleep(50_000)
        XCTAssertEqual(work.stopAll(timeout: 5), [])
        XCTAssertTrue(woke.load(ordering: .acquiring))
    }

    func testAJobStillRunningAtTheDeadlineIsNamed() {
        let work = BackgroundWork()
        let release = Atomic<Bool>(false)
        work.spawn("stubborn") { _ in while !release.load(ordering: .acquiring) { usleep(1000) } }
        XCTAssertEqual(work.stopAll(timeout: 0.1), ["stubborn"])
        release.store(true, ordering: .releasing)
    }

    private func waitFor(_ condition: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(5)
        while Date() < end { if condition() { return true }; usleep(1000) }
        return condition()
    }
}
