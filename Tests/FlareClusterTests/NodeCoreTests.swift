import FlareCluster
import XCTest

/// The node's control plane, event by event: maps, fences, the master lease, role changes and
/// rejoin-as-slave.
final class NodeCoreTests: XCTestCase {
    private func node(_ n: Int, _ role: NodeRole, _ state: NodeState, _ partition: Int = -1, balance: Int = 1) -> NodeEntry {
        NodeEntry(name: "10.0.0.\(n)", port: 12121, role: role, state: state,
                  partition: role == .proxy ? -1 : partition, balance: balance, threadType: 16)
    }

    private func map(_ entries: NodeEntry...) -> NodeMap { try! NodeMap(entries) }

    /// Node 1 is "me".
    private func core(hasIndex: Bool = true, lease: Int64 = 1000, formerMember: Bool = false,
                      formerPartition: Int? = nil, rejoin: Bool = false, now: Int64 = 0) -> NodeCore {
        var core = NodeCore(configuration: .init(name: "10.0.0.1", port: 12121, hasIndex: hasIndex, leaseMilliseconds: lease))
        _ = core.step(.started(formerMember: formerMember, formerPartition: formerPartition, rejoinAsSlave: rejoin, now: now))
        return core
    }

    private func installs(_ effects: [NodeEffect]) -> [UInt64] {
        effects.compactMap { if case .install(_, let version, _) = $0 { version } else { nil } }
    }

    private func told(_ effects: [NodeEffect]) -> [String] {
        effects.compactMap { if case .tellIndex(let line) = $0 { line } else { nil } }
    }

    private func constructions(_ effects: [NodeEffect]) -> [NodeConstruction] {
        effects.compactMap { if case .construct(let c) = $0 { c } else { nil } }
    }

    private let masterWithSlave = try! NodeMap([
        NodeEntry(name: "10.0.0.1", port: 12121, role: .master, state: .active, partition: 0, balance: 1, threadType: 16),
        NodeEntry(name: "10.0.0.2", port: 12121, role: .slave, state: .active, partition: 0, balance: 1, threadType: 16),
    ])

    /// A registered master of partition 0 with one active slave, map version 5, heard from at `now`.
    private func leasedMaster(now: Int64 = 1_000) -> NodeCore {
        var core = core()
        _ = core.step(.mapPushed(version: 5, map: masterWithSlave))
        _ = core.step(.indexContact(sentAt: now, indexVersion: 5))
        return core
    }

    // MARK: maps

    func testStandaloneNodeIsNeverFenced() {
        var core = core(hasIndex: false)
        XCTAssertEqual(core.serving, .open)
        XCTAssertTrue(core.step(.stallDetected(now: 5_000)).isEmpty)
        XCTAssertEqual(core.serving, .open)
        _ = core.step(.tick(now: 100_000))
        XCTAssertTrue(core.serving.mayActAsMaster(now: 100_000))
        XCTAssertTrue(core.serving.servesData(version: 0))
    }

    func testPushesAreInstalledUnlessOlder() {
        let cases: [(current: UInt64, pushed: UInt64, installed: Bool)] = [
            (0, 0, true), (0, 3, true), (4, 3, false), (4, 4, true), (4, 9, true),
        ]
        for (current, pushed, installed) in cases {
            var core = core()
            _ = core.step(.registered(map: map(node(1, .proxy, .active))))
            if current > 0 { _ = core.step(.mapPushed(version: current, map: map(node(1, .proxy, .active)))) }
            let effects = core.step(.mapPushed(version: pushed, map: map(node(1, .proxy, .active), node(2, .proxy, .active))))
            XCTAssertEqual(installs(effects), installed ? [pushed] : [], "current \(current), pushed \(pushed)")
            XCTAssertEqual(core.version, installed ? pushed : current)
        }
    }

    /// A push that overtook the `node add` reply is kept.
    func testRegistrationReplyAfterANewerPushKeepsThePush() {
        var core = core()
        let pushed = map(node(1, .proxy, .active))
        _ = core.step(.mapPushed(version: 7, map: pushed))
        let effects = core.step(.registered(map: map(node(1, .proxy, .down))))
        XCTAssertEqual(installs(effects), [7])
        XCTAssertEqual(core.map, pushed)
        XCTAssertTrue(core.registered)
    }

    // MARK: fences

    func testRestartFenceIsLiftedByARegistrationReply() {
        var core = core(formerMember: true)
        XCTAssertFalse(core.serving.servesData(version: .max - 1))
        let effects = core.step(.registered(map: map(node(1, .proxy, .down))))
        XCTAssertTrue(effects.contains(.recordMembership))
        XCTAssertTrue(core.serving.servesData(version: 0))
    }

    func testRestartFenceIsLiftedByAPush() {
        var core = core(formerMember: true)
        _ = core.step(.mapPushed(version: 4, map: map(node(1, .proxy, .active))))
        XCTAssertTrue(core.serving.servesData(version: 4))
        XCTAssertFalse(core.serving.servesData(version: 3), "workers still on an older map wait for the new one")
    }

    func testStallFenceIsLiftedOnlyByAFetchedMapAtLeastAsNew() {
        var core = core()
        _ = core.step(.mapPushed(version: 4, map: map(node(1, .proxy, .active))))
        let effects = core.step(.stallDetected(now: 10_000))
        XCTAssertTrue(effects.contains(.fetchMap))
        XCTAssertFalse(core.serving.servesData(version: 4))
        // A push read after the stall may have been buffered during it: not enough.
        _ = core.step(.mapPushed(version: 5, map: map(node(1, .proxy, .active))))
        XCTAssertFalse(core.serving.servesData(version: 5))
        // A second stall report does not ask again.
        XCTAssertFalse(core.step(.stallDetected(now: 10_050)).contains(.fetchMap))
        // The fetched map lifts it for workers holding a map at least as new.
        let fetched = core.step(.mapFetched(version: 6, map: map(node(1, .proxy, .active)), sentAt: 10_100))
        XCTAssertEqual(installs(fetched), [6])
        XCTAssertTrue(core.serving.servesData(version: 6))
        XCTAssertFalse(core.serving.servesData(version: 5))
    }

    /// A fetched map older than ours is not installed, but still confirms ours.
    func testStallFenceWithAnOlderFetchedMapKeepsOurs() {
        var core = core()
        _ = core.step(.mapPushed(version: 8, map: map(node(1, .proxy, .active))))
        _ = core.step(.stallDetected(now: 10_000))
        let fetched = core.step(.mapFetched(version: 7, map: map(node(1, .proxy, .down)), sentAt: 10_100))
        XCTAssertEqual(installs(fetched), [])
        XCTAssertEqual(core.version, 8)
        XCTAssertTrue(core.serving.servesData(version: 8))
    }

    func testUnreachableIndexDuringAStallAsksAgain() {
        var core = core()
        _ = core.step(.mapPushed(version: 2, map: map(node(1, .proxy, .active))))
        _ = core.step(.stallDetected(now: 10_000))
        XCTAssertTrue(core.step(.indexUnreachable(now: 10_500)).contains(.fetchMap))
        XCTAssertFalse(core.serving.servesData(version: 2))
    }

    /// An index restarted without its data numbers maps from 1 again: the old floor must go.
    func testForgottenByTheIndexDropsTheVersionFloor() {
        var core = core(formerMember: true)
        _ = core.step(.mapPushed(version: 40, map: map(node(1, .proxy, .active))))
        XCTAssertFalse(core.serving.servesData(version: 1))
        _ = core.step(.unlisted(indexVersion: 3))
        XCTAssertFalse(core.registered)
        XCTAssertFalse(core.removed, "an index numbering below ours started over: register again")
        XCTAssertTrue(core.serving.servesData(version: 1))
        XCTAssertEqual(installs(core.step(.mapPushed(version: 1, map: map(node(1, .proxy, .active))))), [1])
    }

    /// `node remove` of a running node: the index's map is as new as ours or newer and does not list
    /// us. The node stays out (as the original) until it is restarted.
    func testRemovedByTheOperatorStaysRemoved() {
        var core = core(formerMember: true)
        _ = core.step(.mapPushed(version: 40, map: map(node(1, .proxy, .down), node(2, .master, .active, 0))))
        let effects = core.step(.unlisted(indexVersion: 41))
        XCTAssertTrue(core.removed)
        XCTAssertFalse(core.registered)
        XCTAssertTrue(effects.contains { if case .log(.warning, let text) = $0 { text.contains("restart flared") } else { false } })
        // A second check changes nothing and logs nothing more.
        XCTAssertEqual(core.step(.unlisted(indexVersion: 41)).filter { if case .log = $0 { true } else { false } }, [])
        XCTAssertTrue(core.removed)
        // Equal versions count as a removal too: the push of the removal may have reached us.
        var same = self.core()
        _ = same.step(.mapPushed(version: 7, map: map(node(2, .master, .active, 0))))
        _ = same.step(.unlisted(indexVersion: 7))
        XCTAssertTrue(same.removed)
    }

    /// Never heard a versioned map (only the registration reply): nothing to compare, register again.
    func testUnlistedBeforeAnyPushRegistersAgain() {
        var core = core()
        _ = core.step(.registered(map: map(node(1, .proxy, .active))))
        _ = core.step(.unlisted(indexVersion: 5))
        XCTAssertFalse(core.removed)
        XCTAssertFalse(core.registered)
    }

    // MARK: lease

    func testLeaseTable() {
        let proxy = map(node(1, .proxy, .active), node(2, .master, .active, 0))
        let lonelyMaster = map(node(1, .master, .active, 0), node(2, .proxy, .active))
        let downSlave = map(node(1, .master, .active, 0), node(2, .slave, .down, 0))
        let preparingSlave = map(node(1, .master, .active, 0), node(2, .slave, .prepare, 0))
        let slaveOfOther = map(node(1, .master, .active, 0), node(2, .master, .active, 1), node(3, .slave, .active, 1))
        let cases: [(name: String, map: NodeMap, lease: Int64, needsLease: Bool)] = [
            ("master with an active slave", masterWithSlave, 1000, true),
            ("master with a preparing slave", preparingSlave, 1000, true),
            ("master whose slave is down", downSlave, 1000, false),
            ("master without slaves", lonelyMaster, 1000, false),
            ("slaves of another partition", slaveOfOther, 1000, false),
            ("proxy", proxy, 1000, false),
            ("lease off", masterWithSlave, 0, false),
        ]
        for c in cases {
            var core = core(lease: c.lease)
            _ = core.step(.mapPushed(version: 3, map: c.map))
            _ = core.step(.indexContact(sentAt: 1_000, indexVersion: 3))
            XCTAssertTrue(core.serving.mayActAsMaster(now: 1_949), c.name)
            XCTAssertEqual(core.serving.mayActAsMaster(now: 1_950), !c.needsLease, c.name)
            XCTAssertEqual(core.serving.mayActAsMaster(now: 60_000), !c.needsLease, c.name)
        }
    }

    func testLeaseIsRenewedByEachContactAndLoggedWhenLost() {
        var core = leasedMaster(now: 1_000)
        XCTAssertEqual(core.serving.masterUntil, 1_950)
        _ = core.step(.indexContact(sentAt: 1_200, indexVersion: 5))
        XCTAssertEqual(core.serving.masterUntil, 2_150)
        XCTAssertEqual(core.serving.heardAt, 1_200)
        // Unreachable: no renewal; time passing makes the master refuse.
        _ = core.step(.indexUnreachable(now: 1_900))
        XCTAssertTrue(core.serving.mayActAsMaster(now: 2_100))
        let expired = core.step(.tick(now: 2_300))
        XCTAssertFalse(core.serving.mayActAsMaster(now: 2_300))
        XCTAssertTrue(expired.contains { if case .log(.warning, _) = $0 { true } else { false } })
        _ = core.step(.indexContact(sentAt: 2_400, indexVersion: 5))
        XCTAssertTrue(core.serving.mayActAsMaster(now: 2_400))
    }

    /// A master cut off and healed must learn whether it was replaced before it acts again.
    func testContactWithANewerIndexMapRenewsOnlyOnceThatMapIsInstalled() {
        var core = leasedMaster(now: 1_000)
        let effects = core.step(.indexContact(sentAt: 1_800, indexVersion: 6))
        XCTAssertTrue(effects.contains(.fetchMap))
        XCTAssertEqual(core.serving.masterUntil, 1_950, "not renewed")
        XCTAssertFalse(core.step(.indexContact(sentAt: 2_000, indexVersion: 6)).contains(.fetchMap), "one fetch at a time")
        XCTAssertFalse(core.serving.mayActAsMaster(now: 2_100))
        // The fetched map says it was replaced: no lease needed any more, and no master either.
        let replaced = map(node(1, .master, .down, 0), node(2, .master, .active, 0))
        _ = core.step(.mapFetched(version: 6, map: replaced, sentAt: 2_200))
        XCTAssertNil(core.me.flatMap { $0.role == .master && $0.state == .active ? $0 : nil })
    }

    /// The index refuses renewals once it decided to fail this node over: the lease runs out.
    func testRefusedRenewalDoesNotRenewButStillFetchesANewerMap() {
        var core = leasedMaster(now: 1_000)
        XCTAssertTrue(core.step(.indexContact(sentAt: 1_200, indexVersion: 5, granted: false)).isEmpty)
        XCTAssertEqual(core.serving.masterUntil, 1_950, "not renewed")
        XCTAssertEqual(core.serving.heardAt, 1_000)
        XCTAssertFalse(core.step(.tick(now: 1_950)).isEmpty, "lease lost is logged")
        XCTAssertFalse(core.serving.mayActAsMaster(now: 1_950))
        // The take-over's map: fetched, and installing it does not count the refused contact.
        XCTAssertTrue(core.step(.indexContact(sentAt: 2_000, indexVersion: 6, granted: false)).contains(.fetchMap))
        _ = core.step(.mapFetched(version: 6, map: masterWithSlave, sentAt: 2_100, granted: false))
        XCTAssertFalse(core.serving.mayActAsMaster(now: 2_100))
        // Granted again (the index called the take-over off): acting as master again.
        _ = core.step(.indexContact(sentAt: 2_200, indexVersion: 6))
        XCTAssertEqual(core.serving.masterUntil, 3_150)
    }

    /// The node's lease is 5 % short of what it asks the index for, so it ends first.
    func testHeldLeaseIsShortOfTheRequestedLength() {
        XCTAssertEqual(core(lease: 1000).heldLeaseMilliseconds, 950)
        XCTAssertEqual(core(lease: 0).heldLeaseMilliseconds, 0)
        XCTAssertEqual(core(lease: 19).heldLeaseMilliseconds, 19)
    }

    func testNewerMapByPushCountsThePendingContact() {
        var core = leasedMaster(now: 1_000)
        _ = core.step(.indexContact(sentAt: 1_800, indexVersion: 6))
        XCTAssertEqual(core.serving.masterUntil, 1_950)
        _ = core.step(.mapPushed(version: 6, map: masterWithSlave))
        XCTAssertEqual(core.serving.masterUntil, 2_750)
    }

    func testNoLeaseBeforeAnyContact() {
        var core = core()
        _ = core.step(.mapPushed(version: 5, map: masterWithSlave))
        XCTAssertFalse(core.serving.mayActAsMaster(now: 0))
        XCTAssertEqual(core.serving.heardAt, .min)
    }

    func testContactsBeforeRegistrationAreIgnored() {
        var core = core()
        XCTAssertTrue(core.step(.indexContact(sentAt: 100, indexVersion: 9)).isEmpty)
        XCTAssertEqual(core.serving, .open)
    }

    // MARK: role changes

    func testProxyMadeSlaveCopiesFromTheMasterAndReportsActive() {
        var core = core()
        _ = core.step(.mapPushed(version: 1, map: map(node(1, .proxy, .active), node(2, .master, .active, 0))))
        let effects = core.step(.mapPushed(version: 2, map: map(node(1, .slave, .prepare, 0, balance: 0), node(2, .master, .active, 0))))
        XCTAssertEqual(constructions(effects), [NodeConstruction(role: .slave, partition: 0, sources: [
            .init(node: node(2, .master, .active, 0), request: "dump 0 0 1"),
        ])])
        XCTAssertEqual(told(core.step(.constructionFinished(ok: true))), ["node state 10.0.0.1 12121 active"])
        XCTAssertTrue(core.step(.constructionFinished(ok: true)).isEmpty, "reported once")
    }

    func testFailedSlaveConstructionGivesTheRoleBack() {
        var core = core()
        _ = core.step(.mapPushed(version: 1, map: map(node(1, .proxy, .active), node(2, .master, .active, 0))))
        _ = core.step(.mapPushed(version: 2, map: map(node(1, .slave, .prepare, 0), node(2, .master, .active, 0))))
        XCTAssertEqual(told(core.step(.constructionFinished(ok: false))), ["node role 10.0.0.1 12121 proxy 0 -1"])
    }

    func testSlaveWithoutMasterGivesTheRoleBackAtOnce() {
        var core = core()
        _ = core.step(.mapPushed(version: 1, map: map(node(1, .proxy, .active))))
        let effects = core.step(.mapPushed(version: 2, map: map(node(1, .slave, .prepare, 0))))
        XCTAssertEqual(constructions(effects), [])
        XCTAssertEqual(told(effects), ["node role 10.0.0.1 12121 proxy 0 -1"])
    }

    func testSlaveConstructionUsesTheReloadedLimits() {
        var core = core()
        _ = core.step(.settingsChanged(reconstructionInterval: 5, reconstructionBwlimit: 100))
        _ = core.step(.mapPushed(version: 1, map: map(node(1, .proxy, .active), node(2, .master, .active, 0))))
        let effects = core.step(.mapPushed(version: 2, map: map(node(1, .slave, .prepare, 0), node(2, .master, .active, 0))))
        XCTAssertEqual(constructions(effects).first?.sources.map(\.request), ["dump 5 0 1 100"])
    }

    func testFirstMasterOfAClusterReportsReadyWithoutCopying() {
        var core = core()
        _ = core.step(.mapPushed(version: 1, map: map(node(1, .proxy, .active))))
        let effects = core.step(.mapPushed(version: 2, map: map(node(1, .master, .prepare, 0))))
        XCTAssertEqual(constructions(effects), [])
        XCTAssertEqual(told(effects), ["node state 10.0.0.1 12121 ready"])
        // Made master/active directly: nothing to report.
        var direct = self.core()
        _ = direct.step(.mapPushed(version: 1, map: map(node(1, .proxy, .active))))
        XCTAssertEqual(told(direct.step(.mapPushed(version: 2, map: map(node(1, .master, .active, 0))))), [])
    }

    func testNewMasterCopiesItsPartitionFromEveryActiveMaster() {
        var core = core()
        _ = core.step(.mapPushed(version: 1, map: map(node(1, .proxy, .active), node(2, .master, .active, 0))))
        let effects = core.step(.mapPushed(version: 2, map: map(node(1, .master, .prepare, 1), node(2, .master, .active, 0))))
        XCTAssertEqual(constructions(effects).first?.sources.map(\.request), ["dump 0 1 2"])
        XCTAssertEqual(told(core.step(.constructionFinished(ok: true))), ["node state 10.0.0.1 12121 ready"])
    }

    func testSlaveSentBackToPrepareAfterAFailOverClearsAndCopiesFromTheNewMaster() {
        var core = core()
        _ = core.step(.mapPushed(version: 1, map: map(node(1, .slave, .active, 0), node(2, .master, .active, 0),
                                                      node(3, .slave, .active, 0))))
        // Node 2 failed; node 3 took over and node 1 must copy the partition from it again.
        let effects = core.step(.mapPushed(version: 2, map: map(node(1, .slave, .prepare, 0), node(2, .proxy, .down),
                                                                node(3, .master, .active, 0))))
        let clear = effects.firstIndex(of: .clearData)
        let construct = effects.firstIndex { if case .construct = $0 { true } else { false } }
        XCTAssertNotNil(clear, "what the old master left here must go")
        XCTAssertNotNil(construct)
        if let clear, let construct { XCTAssertLessThan(clear, construct, "cleared before the copy starts") }
        XCTAssertEqual(constructions(effects), [NodeConstruction(role: .slave, partition: 0, sources: [
            .init(node: node(3, .master, .active, 0), request: "dump 0 0 1"),
        ])])
        XCTAssertEqual(told(core.step(.constructionFinished(ok: true))), ["node state 10.0.0.1 12121 active"])
    }

    func testSlaveSentBackToPrepareWithoutAMasterGivesTheRoleBack() {
        var core = core()
        _ = core.step(.mapPushed(version: 1, map: map(node(1, .slave, .active, 0), node(2, .master, .active, 0))))
        let effects = core.step(.mapPushed(version: 2, map: map(node(1, .slave, .prepare, 0), node(2, .master, .down, 0))))
        XCTAssertEqual(constructions(effects), [])
        XCTAssertFalse(effects.contains(.clearData))
        XCTAssertEqual(told(effects), ["node role 10.0.0.1 12121 proxy 0 -1"])
    }

    func testNonProxyRoleChangesNeedNoAction() {
        var core = core()
        _ = core.step(.mapPushed(version: 1, map: map(node(1, .slave, .active, 0), node(2, .master, .active, 0))))
        let effects = core.step(.mapPushed(version: 2, map: map(node(1, .master, .active, 0), node(2, .master, .down, 0))))
        XCTAssertEqual(constructions(effects), [])
        XCTAssertEqual(told(effects), [])
        XCTAssertTrue(effects.contains(.rememberRole(node(1, .master, .active, 0))))
    }

    /// The old partition keeps the keys that moved (as the original); only the operator's
    /// `reclaim` drops them. An activation changes nothing but the map here.
    func testAddedPartitionKeepsMovedKeys() {
        var core = core()
        _ = core.step(.mapPushed(version: 1, map: map(node(1, .master, .active, 0), node(2, .master, .prepare, 1))))
        let effects = core.step(.mapPushed(version: 2, map: map(node(1, .master, .active, 0), node(2, .master, .active, 1))))
        XCTAssertEqual(installs(effects), [2])
        XCTAssertFalse(effects.contains(.clearData))
        XCTAssertEqual(effects.filter { if case .install = $0 { false } else if case .log = $0 { false } else { true } }, [.recordMembership])
    }

    // MARK: rejoin-as-slave

    func testRejoinAsSlaveClearsDataAndAsksForItsFormerPartition() {
        var core = core(formerMember: true, formerPartition: 1, rejoin: true)
        // Listed, but not active yet: wait.
        XCTAssertFalse(core.step(.registered(map: map(node(1, .proxy, .down), node(2, .master, .active, 1)))).contains(.clearData))
        let effects = core.step(.mapPushed(version: 3, map: map(node(1, .proxy, .active), node(2, .master, .active, 1))))
        let line = "node role 10.0.0.1 12121 slave 0 1"
        XCTAssertEqual(effects.filter { $0 == .clearData || $0 == .tellIndex(line) }, [.clearData, .tellIndex(line)])
        // Refused: asked again after the retry pause.
        _ = core.step(.toldIndex(line: line, accepted: false))
        XCTAssertFalse(core.step(.tick(now: 100)).contains(.clearData))
        XCTAssertTrue(told(core.step(.tick(now: 600))).contains(line))
        _ = core.step(.toldIndex(line: line, accepted: true))
        XCTAssertEqual(told(core.step(.tick(now: 5_000))), [])
    }

    func testRejoinAsSlaveStopsWhenTheIndexKeptTheRole() {
        var core = core(formerMember: true, formerPartition: 0, rejoin: true)
        let effects = core.step(.registered(map: map(node(1, .master, .active, 0))))
        XCTAssertFalse(effects.contains(.clearData))
        XCTAssertFalse(core.step(.mapPushed(version: 2, map: map(node(1, .proxy, .active)))).contains(.clearData))
    }

    func testRejoinAsSlaveNeedsTheSettingAndARecordedPartition() {
        for (partition, setting) in [(nil, true), (1, false)] as [(Int?, Bool)] {
            var core = core(formerMember: true, formerPartition: partition, rejoin: setting)
            XCTAssertFalse(core.step(.registered(map: map(node(1, .proxy, .active)))).contains(.clearData))
        }
    }

    func testRejoinAsSlaveGivesUp() {
        var core = core(formerMember: true, formerPartition: 1, rejoin: true)
        _ = core.step(.tick(now: 130_000))
        XCTAssertFalse(core.step(.registered(map: map(node(1, .proxy, .active)))).contains(.clearData))
    }
}
