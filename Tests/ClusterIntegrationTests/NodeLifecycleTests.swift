import FlareCluster
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// 7. `flare-admin down` of a live slave, its automatic return, and `remove` of a dead proxy.
final class DownRestoreRemoveTests: ClusterTestCase {
    func testDownRestoreAndRemove() throws {
        try startCluster()
        try cluster.makeFirstMaster(1)
        let second = cluster.node(2), third = cluster.node(3)
        XCTAssertEqual(try cluster.indexCommand("node role \(second.host) \(second.port) slave 0 0"), "OK")
        XCTAssertTrue(cluster.waitForIndex(2, role: "slave", state: "active", partition: 0))
        XCTAssertEqual(try cluster.indexCommand("node role \(second.host) \(second.port) slave 1 0"), "OK")
        XCTAssertTrue(cluster.waitForMapsInSync([1, 2, 3]), cluster.mapsReport())
        let keys = keyNames("dr-", 50)
        XCTAssertEqual(try cluster.load(keys.map { ($0, "v:\($0)", UInt32(4)) }, through: 3), [])

        // down of a live slave: proxy/down at once, then back to proxy/active when it answers the
        // monitor's next ping (not the push that told it it is down), as in the original.
        let downAt = now()
        let down = try cluster.admin("down", second.key, "--force")
        XCTAssertEqual(down.status, 0, "\(down)")
        let afterDown = try cluster.indexStatsNodes()
        let wentDown = afterDown[second.key].map { $0.role == "proxy" && $0.state == "down" && $0.partition == -1 } ?? false
        XCTAssertTrue(wentDown, "after flare-admin down: \(afterDown.summary)")
        XCTAssertTrue(down.output.contains(listLine(second.key, partition: -1, role: "proxy", state: "down", balance: 0)),
                      "flare-admin down output: \(down)")
        XCTAssertTrue(cluster.index.log().contains("node state \(second.host) \(second.port) down: node map version"),
                      "the index did not log the down: \(cluster.index.logTail(10))")
        let revived = cluster.waitForIndex(2, role: "proxy", state: "active", partition: -1, timeout: 10)
        report(String(format: "down slave back as proxy/active after %.2f s", now() - downAt))
        XCTAssertTrue(revived, "the live node did not come back: \(cluster.mapsReport())")
        XCTAssertEqual(try cluster.indexStatsNodes()[cluster.key(1)].map { "\($0.role)/\($0.state)" }, "master/active")
        XCTAssertTrue(cluster.waitForMapsInSync([1, 2, 3]), cluster.mapsReport())
        // It serves as a proxy now: reads through it come from the master.
        let viaTwo = try cluster.client(2).values(of: keys)
        XCTAssertEqual(keys.filter { viaTwo[$0] != .some("v:\($0)") }, [], "reads through the revived proxy")
        XCTAssertEqual(try cluster.client(2).store("set", "dr-0", "changed"), "STORED")
        XCTAssertEqual(try cluster.client(1).get("dr-0")?.value, "changed")

        // A live node cannot be removed.
        XCTAssertEqual(try cluster.indexCommand("node remove \(second.host) \(second.port)"), "SERVER_ERROR failed to remove node")

        // A dead proxy goes proxy/down, then `remove` deletes it everywhere.
        third.daemon.kill9()
        XCTAssertTrue(cluster.waitForIndex(3, role: "proxy", state: "down", timeout: 10), cluster.mapsReport())
        let remove = try cluster.admin("remove", third.key, "--force")
        XCTAssertEqual(remove.status, 0, "\(remove)")
        let map = try cluster.indexStatsNodes()
        XCTAssertNil(map[third.key], "index still lists the removed node: \(map.summary)")
        XCTAssertEqual(Set(map.keys), [cluster.key(1), cluster.key(2)])
        for number in [1, 2] {
            XCTAssertTrue(waitUntil(timeout: 5) { (try? cluster.nodeStatsNodes(number))?[third.key] == nil && (try? cluster.nodeStatsNodes(number)) == map },
                          "node \(number) still lists \(third.key): \((try? cluster.nodeStatsNodes(number))?.summary ?? "?")")
        }
        let saved = try FlareXML.decode(String(contentsOf: cluster.indexDataDir.appendingPathComponent("flare.xml"), encoding: .utf8))
        XCTAssertNil(saved.map[nodeKey: third.key], "flare.xml still has the removed node")
        XCTAssertEqual(saved.map.count, 2)
        let threads = try cluster.indexClient().call("stats threads")
        XCTAssertFalse(threads.contains { $0.hasSuffix(":peer \(third.key)") }, "the removed node is still monitored")
        // The cluster keeps working without it.
        XCTAssertEqual(try cluster.client(2).get("dr-1")?.value, "v:dr-1")
    }
}

/// `flare-admin remove` of a node that is still running (it was frozen, so the index marked it
/// down): it stays removed, as with the original, and comes back only when restarted.
final class RemovedNodeTests: ClusterTestCase {
    func testARemovedRunningNodeStaysRemovedUntilRestarted() throws {
        try startCluster(nodes: [1, 2])
        try cluster.makeFirstMaster(1)
        let second = cluster.node(2)
        second.daemon.signal(SIGSTOP)
        XCTAssertTrue(cluster.waitForIndex(2, role: "proxy", state: "down", timeout: 10), cluster.mapsReport())
        let remove = try cluster.admin("remove", second.key, "--force")
        XCTAssertEqual(remove.status, 0, "\(remove)")
        second.daemon.signal(SIGCONT)
        // Its registration check (every 5 s) finds it unlisted by an index as new as its map.
        XCTAssertTrue(waitUntil(timeout: 15) { second.daemon.log().contains("removed from the node map by the index server") },
                      second.daemon.logTail(20))
        Thread.sleep(forTimeInterval: 1)
        XCTAssertNil(try cluster.indexStatsNodes()[second.key], "the removed node registered again: \(cluster.mapsReport())")
        XCTAssertFalse(second.daemon.log().contains("no longer lists"), second.daemon.logTail(20))

        // Restarted, it registers as a new node.
        second.daemon.kill9()
        _ = try cluster.startNode(2)
        XCTAssertTrue(cluster.waitForIndex(2, role: "proxy", state: "active", partition: -1, timeout: 10), cluster.mapsReport())
    }
}

/// 8. The only master of a partition is dead: requests fail fast, never hang.
final class OwnerUnreachableTests: ClusterTestCase {
    func testRequestsForADeadOwnerFailFast() throws {
        try startCluster()
        try cluster.makeFirstMaster(1)
        let first = cluster.node(1)
        let keys = keyNames("ou-", 20)
        XCTAssertEqual(try cluster.load(keys.map { ($0, "v:\($0)", UInt32(5)) }, through: 2), [])

        first.daemon.kill9()
        let killedAt = now()

        /// Checks through node `number`: a set gets SERVER_ERROR, a get END, within 3 s each.
        func checkFailsFast(_ phase: String, through number: Int) throws {
            let client = try cluster.client(number, timeout: 6)
            var started = now()
            let reply = try client.store("set", "ou-0", "x")
            let setSeconds = now() - started
            XCTAssertTrue(reply?.hasPrefix("SERVER_ERROR") == true, "\(phase): set via node \(number) answered \(reply ?? "nothing")")
            XCTAssertLessThan(setSeconds, 3, "\(phase): set via node \(number) took \(setSeconds) s")
            started = now()
            let item = try client.get("ou-1")
            let getSeconds = now() - started
            XCTAssertNil(item, "\(phase): get via node \(number) returned \(String(describing: item))")
            XCTAssertLessThan(getSeconds, 3, "\(phase): get via node \(number) took \(getSeconds) s")
            started = now()
            let items = try client.get(Array(keys.prefix(5)))
            XCTAssertEqual(items.count, 0, "\(phase): multi-get via node \(number)")
            XCTAssertLessThan(now() - started, 3, "\(phase): multi-get via node \(number)")
            XCTAssertTrue(try client.delete("ou-2")?.hasPrefix("SERVER_ERROR") == true, "\(phase): delete via node \(number)")
            // noreply writes answer nothing and leave the connection usable.
            try client.store("set", "ou-3", "y", options: "noreply")
            started = now()
            XCTAssertTrue(try client.line("version").hasPrefix("VERSION"), "\(phase): connection after noreply")
            XCTAssertLessThan(now() - started, 3, "\(phase): version after noreply via node \(number)")
            report(String(format: "%@ via node %d: set -> %@ in %.3f s, get miss in %.3f s", phase, number, reply ?? "-", setSeconds, getSeconds))
        }

        // Before the index noticed (the owner refuses connections) …
        try checkFailsFast("before detection", through: 2)
        // … and once the index preserved the master as master/down.
        XCTAssertTrue(cluster.waitForIndex(1, role: "master", state: "down", partition: 0, timeout: 10), cluster.mapsReport())
        report(String(format: "master/down (preserved) after %.2f s", now() - killedAt))
        XCTAssertTrue(cluster.waitForMapsInSync([2, 3]), cluster.mapsReport())
        try checkFailsFast("master/down", through: 2)
        try checkFailsFast("master/down", through: 3)

        // The preserved master restarts on its data: it is master/active again with its data.
        try cluster.startNode(1)
        XCTAssertTrue(cluster.waitForIndex(1, role: "master", state: "active", partition: 0, timeout: 10), cluster.mapsReport())
        XCTAssertTrue(cluster.waitForMapsInSync([1, 2, 3]), cluster.mapsReport())
        let values = try cluster.client(3).values(of: keys)
        XCTAssertEqual(keys.filter { values[$0] != .some("v:\($0)") }, [], "data after the master came back: \(values)")
    }
}

/// 9. flare-stats shows one row per node with the index's view and the node's counters.
final class FlareStatsTests: ClusterTestCase {
    func testFlareStatsTable() throws {
        try startCluster(nodes: [1, 2, 3, 4])
        try cluster.makeFirstMaster(1)
        let second = cluster.node(2), third = cluster.node(3)
        XCTAssertEqual(try cluster.indexCommand("node role \(second.host) \(second.port) slave 0 0"), "OK")
        XCTAssertTrue(cluster.waitForIndex(2, role: "slave", state: "active"))
        XCTAssertEqual(try cluster.indexCommand("node role \(second.host) \(second.port) slave 2 0"), "OK")
        XCTAssertEqual(try cluster.indexCommand("node role \(third.host) \(third.port) master 3 1"), "OK")
        XCTAssertTrue(cluster.waitForIndex(3, role: "master", state: "ready", timeout: 10), cluster.mapsReport())
        XCTAssertEqual(try cluster.indexCommand("node state \(third.host) \(third.port) active"), "OK")
        XCTAssertTrue(cluster.waitForMapsInSync([1, 2, 3, 4]), cluster.mapsReport())
        XCTAssertEqual(try cluster.load(keyNames("fs-", 60).map { ($0, "v", UInt32(0)) }, through: 4), [])
        XCTAssertTrue(waitUntil(timeout: 5) { (try? cluster.client(2).dumpKey()) == (try? cluster.client(1).dumpKey()) })

        let run = try cluster.tool("flare-stats", [], timeout: 30)
        XCTAssertEqual(run.status, 0, "\(run)")
        let lines = run.output.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first?.split(separator: " ").map(String.init),
                       ["hostname:port", "state", "role", "partition", "balance", "items", "conn", "behind", "hit", "size", "uptime", "version"],
                       "\(run)")
        let rows = Dictionary(lines.dropFirst().map { line -> (String, [String]) in
            let cells = line.split(separator: " ").map(String.init)
            return (cells.first ?? "", cells)
        }, uniquingKeysWith: { first, _ in first })
        XCTAssertEqual(lines.count, 5, "one row per node: \(run)")
        let expected: [Int: (state: String, role: String, partition: String, balance: String)] = [
            1: ("active", "master", "0", "1"), 2: ("active", "slave", "0", "2"),
            3: ("active", "master", "1", "3"), 4: ("active", "proxy", "-1", "0"),
        ]
        for (number, want) in expected {
            let key = cluster.key(number)
            guard let cells = rows[key] else {
                XCTFail("no row for \(key): \(run)")
                continue
            }
            XCTAssertEqual(cells.count, 12, "\(key): \(cells)")
            guard cells.count == 12 else { continue }
            XCTAssertEqual(Array(cells[1...4]), [want.state, want.role, want.partition, want.balance], "\(key) row: \(cells)")
            let stats = try cluster.client(number).stats()
            XCTAssertEqual(cells[5], stats["curr_items"], "\(key) items")
            XCTAssertEqual(cells[7], "0", "\(key) behind")
            XCTAssertEqual(cells[11], "1.3.4", "\(key) version")
        }
        // Items of the two partitions add up to the keys stored.
        if let one = rows[cluster.key(1)], let three = rows[cluster.key(3)], one.count == 12, three.count == 12 {
            XCTAssertEqual((Int(one[5]) ?? 0) + (Int(three[5]) ?? 0), 60, "items of the masters: \(run)")
        }
    }
}
