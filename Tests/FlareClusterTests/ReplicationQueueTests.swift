import XCTest
@testable import FlareCluster

/// One replication stream's bookkeeping: order, resend after a lost connection, waiters, bound.
final class ReplicationQueueTests: XCTestCase {
    typealias Queue = ReplicationQueue<String, Int>

    func testPositionsAreConsecutiveAndSentOnce() {
        var queue = Queue(byteLimit: 1000)
        XCTAssertEqual(queue.append("a", bytes: 10), .queued(position: 1))
        XCTAssertEqual(queue.append("b", bytes: 10), .queued(position: 2))
        XCTAssertEqual(queue.takeUnsent().map(\.operation), ["a", "b"])
        XCTAssertEqual(queue.takeUnsent().map(\.operation), [])
        XCTAssertEqual(queue.append("c", bytes: 10), .queued(position: 3))
        XCTAssertEqual(queue.takeUnsent().map(\.position), [3])
        XCTAssertEqual(queue.inFlightCount, 3)
    }

    func testConfirmationsReleaseWaitersInOrder() {
        var queue = Queue(byteLimit: 1000)
        _ = queue.append("a", bytes: 1, waiter: 100, deadline: 50)
        _ = queue.append("b", bytes: 1)
        _ = queue.append("c", bytes: 1, waiter: 300, deadline: 50)
        _ = queue.takeUnsent()
        XCTAssertEqual(queue.confirmOldest(), [100])
        XCTAssertEqual(queue.confirmOldest(), [])
        XCTAssertEqual(queue.confirmed, 2)
        XCTAssertEqual(queue.confirmOldest(), [300])
        XCTAssertEqual(queue.unconfirmedCount, 0)
        XCTAssertEqual(queue.queuedBytes, 0)
        XCTAssertEqual(queue.waiterCount, 0)
    }

    func testRewindResendsEverythingUnconfirmedFromTheOldest() {
        var queue = Queue(byteLimit: 1000)
        for op in ["a", "b", "c"] { _ = queue.append(op, bytes: 1) }
        _ = queue.takeUnsent()
        _ = queue.confirmOldest()
        _ = queue.append("d", bytes: 1)
        queue.rewind()
        XCTAssertEqual(queue.takeUnsent().map(\.operation), ["b", "c", "d"])
        XCTAssertEqual(queue.confirmed, 1)
    }

    func testExpiredWaitersFailButTheirOperationsStayQueued() {
        var queue = Queue(byteLimit: 1000)
        _ = queue.append("a", bytes: 1, waiter: 1, deadline: 10)
        _ = queue.append("b", bytes: 1, waiter: 2, deadline: 20)
        XCTAssertEqual(queue.expireWaiters(now: 15), [1])
        XCTAssertEqual(queue.waiterCount, 1)
        XCTAssertEqual(queue.takeUnsent().map(\.operation), ["a", "b"])
        XCTAssertEqual(queue.confirmOldest(), [])
        XCTAssertEqual(queue.confirmOldest(), [2])
    }

    func testOverflowDropsAndStaysOverflowed() {
        var queue = Queue(byteLimit: 25)
        XCTAssertEqual(queue.append("a", bytes: 10), .queued(position: 1))
        XCTAssertEqual(queue.append("b", bytes: 10), .queued(position: 2))
        XCTAssertEqual(queue.append("c", bytes: 10, waiter: 7, deadline: 99), .overflowed)
        XCTAssertTrue(queue.overflowed)
        XCTAssertEqual(queue.waiterCount, 0, "a refused operation keeps no waiter")
        _ = queue.takeUnsent()
        _ = queue.confirmOldest()
        // Room again, but an operation was lost: the stream cannot recover by itself.
        XCTAssertEqual(queue.append("d", bytes: 1), .overflowed)
    }

    func testAnOversizedOperationPassesWhenTheQueueIsEmpty() {
        var queue = Queue(byteLimit: 5)
        XCTAssertEqual(queue.append("big", bytes: 50), .queued(position: 1))
        XCTAssertEqual(queue.append("next", bytes: 1), .overflowed)
    }

    func testDrainReturnsEveryWaiter() {
        var queue = Queue(byteLimit: 100)
        _ = queue.append("a", bytes: 1, waiter: 1, deadline: 10)
        _ = queue.append("b", bytes: 1, waiter: 2, deadline: 10)
        _ = queue.takeUnsent()
        _ = queue.confirmOldest()
        XCTAssertEqual(queue.drainWaiters(), [2])
        XCTAssertEqual(queue.drainWaiters(), [])
    }

    func testManyConfirmationsCompact() {
        var queue = Queue(byteLimit: 1 << 30)
        for i in 0..<5000 { _ = queue.append("op\(i)", bytes: 3) }
        _ = queue.takeUnsent()
        for _ in 0..<4000 { _ = queue.confirmOldest() }
        queue.rewind()
        let rest = queue.takeUnsent()
        XCTAssertEqual(rest.count, 1000)
        XCTAssertEqual(rest.first?.operation, "op4000")
        XCTAssertEqual(rest.first?.position, 4001)
    }
}
