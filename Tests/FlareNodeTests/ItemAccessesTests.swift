@testable import FlareNode
import XCTest

/// The per-worker read tables behind `mg`'s `h` and `l`, and how their entries combine into
/// memcached's answer.
final class ItemAccessesTests: XCTestCase {
    /// A version as the node's clock makes it: microseconds of the write time.
    private func version(storedAt second: Int64, _ sequence: UInt64 = 0) -> UInt64 {
        UInt64(second) * 1_000_000 + sequence
    }

    func testAnUnreadItemIsNotFetchedAndStandsAtItsStoreTime() {
        let accesses = ItemAccesses(workers: 2, slotsPerWorker: 64)
        let state = accesses.state(of: version(storedAt: 1_000), now: 1_005)
        XCTAssertFalse(state.fetched)
        XCTAssertEqual(state.accessed, 1_000)
        XCTAssertNil(accesses.tables[0].entry(for: version(storedAt: 1_000)))
    }

    func testTheFirstReadOnlyMarksTheItemFetched() {
        let accesses = ItemAccesses(workers: 2, slotsPerWorker: 64)
        let item = version(storedAt: 1_000)
        accesses.tables[0].record(item, now: 1_003)
        XCTAssertEqual(accesses.tables[0].entry(for: item), .init(lastRead: 1_003, repeated: false))
        let state = accesses.state(of: item, now: 1_005)
        XCTAssertTrue(state.fetched)
        XCTAssertEqual(state.accessed, 1_000, "memcached moves the access time only from the second read on")
    }

    func testLaterReadsMoveTheAccessTimeOnOneWorkerOrAcrossWorkers() {
        let accesses = ItemAccesses(workers: 3, slotsPerWorker: 64)
        let item = version(storedAt: 1_000)
        accesses.tables[0].record(item, now: 1_002)
        accesses.tables[0].record(item, now: 1_004)
        XCTAssertEqual(accesses.state(of: item, now: 1_009).accessed, 1_004)
        XCTAssertEqual(accesses.tables[0].entry(for: item), .init(lastRead: 1_004, repeated: true))

        let other = version(storedAt: 1_000, 1)
        accesses.tables[1].record(other, now: 1_002)
        accesses.tables[2].record(other, now: 1_006)
        XCTAssertEqual(accesses.state(of: other, now: 1_009).accessed, 1_006, "two workers' reads are two reads")
    }

    func testANewVersionOfTheKeyStartsUnread() {
        let accesses = ItemAccesses(workers: 1, slotsPerWorker: 64)
        let first = version(storedAt: 1_000)
        accesses.tables[0].record(first, now: 1_001)
        accesses.tables[0].record(first, now: 1_002)
        let rewritten = version(storedAt: 1_003)
        let state = accesses.state(of: rewritten, now: 1_004)
        XCTAssertFalse(state.fetched)
        XCTAssertEqual(state.accessed, 1_003)
    }

    func testAnInPlaceChangeCarriesTheReadsToTheNewVersion() {
        let accesses = ItemAccesses(workers: 2, slotsPerWorker: 64)
        let stored = version(storedAt: 1_000)
        // Never read: an in-place change keeps the store time, and the item unread.
        let counted = version(storedAt: 1_004)
        accesses.carry(from: stored, to: counted, now: 1_004, .keep, into: accesses.tables[1])
        XCTAssertEqual(accesses.state(of: counted, now: 1_006),
                       .init(fetched: false, readAgain: false, accessed: 1_000, stored: 1_000))
        // A touch that is the first read: read, the time still the store's.
        let touched = version(storedAt: 1_005)
        accesses.carry(from: counted, to: touched, now: 1_005, .touch, into: accesses.tables[0])
        XCTAssertEqual(accesses.state(of: touched, now: 1_006),
                       .init(fetched: true, readAgain: false, accessed: 1_000, stored: 1_000))
        // A second touch is a second read: the time moves.
        let again = version(storedAt: 1_007)
        accesses.carry(from: touched, to: again, now: 1_007, .touch, into: accesses.tables[1])
        XCTAssertEqual(accesses.state(of: again, now: 1_009),
                       .init(fetched: true, readAgain: true, accessed: 1_007, stored: 1_000))
        // A read on the other worker after the change counts on top of the carried ones.
        accesses.tables[0].record(again, now: 1_008)
        XCTAssertEqual(accesses.state(of: again, now: 1_009).accessed, 1_008)
    }

    func testACounterChangedInPlaceStaysReadWithItsTimeMoved() {
        let accesses = ItemAccesses(workers: 1, slotsPerWorker: 64)
        let read = version(storedAt: 1_000)
        accesses.tables[0].record(read, now: 1_001)
        let counted = version(storedAt: 1_004)
        accesses.carry(from: read, to: counted, now: 1_004, .counter, into: accesses.tables[0])
        XCTAssertEqual(accesses.state(of: counted, now: 1_006),
                       .init(fetched: true, readAgain: true, accessed: 1_004, stored: 1_000))
        let unread = version(storedAt: 1_000, 1)
        let unreadCounted = version(storedAt: 1_004, 1)
        accesses.carry(from: unread, to: unreadCounted, now: 1_004, .counter, into: accesses.tables[0])
        XCTAssertEqual(accesses.state(of: unreadCounted, now: 1_006),
                       .init(fetched: false, readAgain: false, accessed: 1_004, stored: 1_004))
    }

    func testARecordedReadKeepsACarriedStoreTime() {
        let accesses = ItemAccesses(workers: 1, slotsPerWorker: 64)
        let stored = version(storedAt: 1_000)
        let counted = version(storedAt: 1_004)
        accesses.carry(from: stored, to: counted, now: 1_004, .keep, into: accesses.tables[0])
        accesses.tables[0].record(counted, now: 1_005)
        XCTAssertEqual(accesses.state(of: counted, now: 1_006),
                       .init(fetched: true, readAgain: false, accessed: 1_000, stored: 1_000))
        accesses.tables[0].record(counted, now: 1_006)
        XCTAssertEqual(accesses.state(of: counted, now: 1_006).accessed, 1_006)
    }

    func testACollisionForgetsTheEarlierItem() {
        let table = AccessTable(slots: 4)
        XCTAssertEqual(table.slots, 4)
        // Of five versions, two share a slot of four.
        let versions = (1...5).map { version(storedAt: 1_000, $0) }
        for item in versions { table.record(item, now: 1_001) }
        let remembered = versions.filter { table.entry(for: $0) != nil }
        XCTAssertLessThanOrEqual(remembered.count, 4)
        XCTAssertTrue(remembered.contains(versions[4]), "the latest read always holds its slot")
    }

    func testTheStoreTimeNeverLiesInTheFuture() {
        // A version ahead of the clock (written from a master whose clock runs ahead).
        let accesses = ItemAccesses(workers: 1, slotsPerWorker: 64)
        XCTAssertEqual(accesses.state(of: version(storedAt: 2_000), now: 1_000).accessed, 1_000)
    }

    func testSizesRoundUpToAPowerOfTwo() {
        XCTAssertEqual(AccessTable(slots: 1_000).slots, 1_024)
        XCTAssertEqual(AccessTable(slots: 0).slots, 2)
        XCTAssertEqual(AccessTable(slots: AccessTable.defaultSlots).slots, 65_536)
    }

    /// One writer rewriting a slot between two items while another thread reads it: the reader
    /// sees each item with its own fields, never one item's version with the other's time.
    func testAReaderNeverMixesTwoItemsInOneSlot() {
        // Two versions that share a slot in a table of two.
        let probe = AccessTable(slots: 2)
        let a = version(storedAt: 1_000, 0)
        probe.record(a, now: 1)
        let sharing = (1...64).map { version(storedAt: 1_000, $0) }.first { candidate in
            probe.record(candidate, now: 2)
            return probe.entry(for: a) == nil
        }
        guard let b = sharing else { return XCTFail("no two versions share a slot") }
        let table = AccessTable(slots: 2)
        let stop = StopFlag()
        let writer = Thread {
            var now: Int64 = 1_000_000
            while !stop.isSet {
                now += 2
                table.record(a, now: now)  // a: even seconds
                table.record(b, now: now + 1)  // b: odd seconds
            }
        }
        writer.start()
        var seen = 0
        var mixed = 0
        for _ in 0..<200_000 {
            if let entry = table.entry(for: a) { seen += 1; if entry.lastRead % 2 != 0 { mixed += 1 } }
            if let entry = table.entry(for: b) { seen += 1; if entry.lastRead % 2 != 1 { mixed += 1 } }
        }
        stop.set()
        while !writer.isFinished { usleep(1_000) }
        XCTAssertEqual(mixed, 0)
        XCTAssertGreaterThan(seen, 0)
    }
}

/// Tells the writer thread of the test above to stop.
private final class StopFlag: Sendable {
    private let flag = NSLock()
    private nonisolated(unsafe) var stopped = false
    var isSet: Bool { flag.withLock { stopped } }
    func set() { flag.withLock { stopped = true } }
}
