import FlareCluster
@testable import FlareIndex
import FlareNet
import Logging
import Synchronization
import XCTest

/// The coordinator's roles with several index servers (docs/index-redundancy.md): only a leader
/// whose ZooKeeper session is confirmed changes the map or grants leases; a follower refuses,
/// naming the leader, and never takes an older map; a new leader honours the grants the previous
/// one may have made.
final class CoordinatorRoleTests: XCTestCase {
    /// The maps a coordinator saved, in memory (the ZooKeeper store's place).
    final class SavedMaps: NodeMapStore {
        let saved = Mutex<[UInt64]>([])
        func save(_ state: IndexState) throws(IndexCommandError) { saved.withLock { $0.append(state.version) } }
        var versions: [UInt64] { saved.withLock { $0 } }
    }

    private let logger = Logger(label: "test")
    // Monitors that never count a node as failed: the tests drive failures themselves.
    private let settings = Coordinator.MonitorSettings(threshold: 1_000_000, interval: 1, readTimeoutMilliseconds: 100)

    private func master(_ port: Int) -> NodeEntry {
        NodeEntry(name: "127.0.0.1", port: port, role: .master, state: .active, partition: 0, balance: 1, threadType: 16)
    }

    func testFollowerRefusesChangesAndLeasesNamingTheLeader() throws {
        let store = SavedMaps()
        let map = try NodeMap([master(1)])
        let coordinator = Coordinator(following: IndexState(map: map, version: 4), store: store, settings: settings, logger: logger)
        XCTAssertFalse(coordinator.decides)
        coordinator.setLeader("idx2:12120")
        let outcome = coordinator.perform("test") { _ in IndexChange.saveAndPush }
        XCTAssertEqual(outcome.failureReason, "not the leading index server; the leader is idx2:12120")
        XCTAssertEqual(coordinator.renewLease(nodeKey: "127.0.0.1:1", milliseconds: 1000),
                       .notDeciding(IndexCommandError("not the leading index server; the leader is idx2:12120")))
        coordinator.setLeader(nil)
        XCTAssertEqual(coordinator.perform("test") { _ in IndexChange.saveAndPush }.failureReason,
                       "not the leading index server, and no index server leads at the moment")
        XCTAssertEqual(store.versions, [])
    }

    func testFollowerNeverTakesAnOlderMap() {
        let coordinator = Coordinator(following: IndexState(version: 5), store: SavedMaps(), settings: settings, logger: logger)
        coordinator.adopt(IndexState(version: 3))
        XCTAssertEqual(coordinator.snapshot.version, 5)
        coordinator.adopt(IndexState(version: 7))
        XCTAssertEqual(coordinator.snapshot.version, 7)
    }

    func testLeaderDecidesOnlyWhileConfirmed() {
        let store = SavedMaps()
        let coordinator = Coordinator(following: IndexState(version: 2), store: store, settings: settings, logger: logger)
        let now = ServerClock.monotonicMilliseconds()
        coordinator.lead(IndexState(version: 3), confirmedUntil: now + 60_000)
        defer { coordinator.stopMonitoring() }
        XCTAssertTrue(coordinator.decides)
        XCTAssertNotNil(coordinator.perform("test") { _ in IndexChange.saveAndPush }.success)
        XCTAssertEqual(store.versions, [4], "the leader starts from the map it read, and saves the next version")

        let lapsed = Coordinator(following: IndexState(), store: store, settings: settings, logger: logger)
        lapsed.lead(IndexState(version: 4), confirmedUntil: now - 1)
        defer { lapsed.stopMonitoring() }
        XCTAssertFalse(lapsed.decides)
        XCTAssertEqual(lapsed.perform("test") { _ in IndexChange.saveAndPush }.failureReason,
                       "not the leading index server: its ZooKeeper session is not confirmed")
        lapsed.confirmLeadership(until: ServerClock.monotonicMilliseconds() + 60_000)
        XCTAssertTrue(lapsed.decides)

        lapsed.follow(leader: "idx3:12120", reason: "test")
        XCTAssertFalse(lapsed.decides)
        XCTAssertEqual(lapsed.currentRole, .follower(leader: "idx3:12120"))
    }

    /// A master renewed (with a follower, which refused but noted the length) 400 ms; the follower
    /// takes the lead and a failure of that master is acted on only once such a grant, made just
    /// before the take-over, would have expired.
    func testNewLeaderWaitsForThePreviousLeadersGrants() throws {
        let store = SavedMaps()
        let coordinator = Coordinator(following: IndexState(map: try NodeMap([master(1)]), version: 1), store: store,
                                      settings: settings, logger: logger)
        _ = coordinator.renewLease(nodeKey: "127.0.0.1:1", milliseconds: 400)
        let tookOver = ServerClock.monotonicMilliseconds()
        coordinator.lead(coordinator.snapshot, confirmedUntil: tookOver + 60_000)
        defer { coordinator.stopMonitoring() }
        coordinator.nodeFailed("127.0.0.1:1")
        usleep(200_000)
        XCTAssertEqual(coordinator.snapshot.map[nodeKey: "127.0.0.1:1"]?.state, .active, "failed over inside the earlier leader's grant")
        let deadline = tookOver + 3000
        while coordinator.snapshot.map[nodeKey: "127.0.0.1:1"]?.state != .down && ServerClock.monotonicMilliseconds() < deadline {
            usleep(10_000)
        }
        let after = ServerClock.monotonicMilliseconds() - tookOver
        XCTAssertEqual(coordinator.snapshot.map[nodeKey: "127.0.0.1:1"]?.state, .down)
        XCTAssertGreaterThanOrEqual(after, 400)
        XCTAssertEqual(store.versions, [2])
    }
}

extension Result where Failure == IndexCommandError {
    var failureReason: String? { if case .failure(let error) = self { error.reason } else { nil } }
    var success: Success? { if case .success(let value) = self { value } else { nil } }
}
