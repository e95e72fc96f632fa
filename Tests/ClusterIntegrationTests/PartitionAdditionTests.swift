import FlareCluster
import Foundation
import XCTest

/// 3. The cluster grows from one to two to three partitions with flare-admin while writers keep writing.
final class PartitionAdditionTests: ClusterTestCase {
    func testGrowthFromOneToThreePartitionsUnderLoad() throws {
        try startCluster()
        try cluster.makeFirstMaster(1)
        let resolver = try KeyResolver(algorithm: .simple, partitionSize: 1024, hint: 1, virtual: 4096)

        // Existing data: the new master must copy its share of it.
        let preloaded = keyNames("pre-", 400)
        XCTAssertEqual(try cluster.load(preloaded.map { ($0, "old:\($0)", UInt32(3)) }, through: 2), [])

        // A writer through node 2 over overlapping and fresh keys, recording acknowledged writes.
        let writer = RecordingWriter(host: cluster.node(2).host, port: cluster.node(2).port,
                                     keys: keyNames("pre-", 150) + keyNames("live-", 250), pause: 0.002)
        writer.start()
        XCTAssertTrue(writer.waitForAcks(100), "writer makes no progress: \(writer.log.last?.reply ?? "")")

        let third = cluster.node(3)
        let started = now()
        let admin = try cluster.admin("master", "\(third.host):\(third.port):1:1", "--force", "--activate", timeout: 60)
        let adminSeconds = now() - started
        report(String(format: "flare-admin master --activate took %.1f s", adminSeconds))
        XCTAssertEqual(admin.status, 0, "\(admin)")
        XCTAssertTrue(admin.output.contains(listLine(third.key, partition: 1, role: "master", state: "active", balance: 1)),
                      "flare-admin master output: \(admin)")
        XCTAssertTrue(cluster.waitForIndex(3, role: "master", state: "active", partition: 1, timeout: 5),
                      "index: \((try? cluster.indexStatsNodes())?.summary ?? "?")")
        XCTAssertTrue(cluster.waitForMapsInSync([1, 2, 3]), "node maps not in sync after activation")

        // Keep writing with two partitions for a moment, then stop.
        XCTAssertTrue(writer.waitForAcks(200), "writer makes no progress after activation: \(writer.log.last?.reply ?? "")")
        writer.stop()
        let failed = writer.log.filter { !$0.ok }
        report("writer: \(writer.acknowledgedCount) acknowledged, \(failed.count) failed\(failed.first.map { " (first: \($0.reply))" } ?? "")")
        XCTAssertEqual(failed.count, 0, "writes failed during partition addition: \(failed.prefix(5).map(\.reply))")

        // Every recorded key reads back with its last acknowledged value through every node.
        let writtenKeys = writer.writtenKeys
        for number in [1, 2, 3] {
            let values = try cluster.client(number).values(of: writtenKeys)
            let problems = writer.verify(values)
            XCTAssertEqual(problems, [], "node \(number): \(problems.count) keys wrong, e.g. \(problems.prefix(5))")
        }
        // Preloaded keys the writer did not touch keep their value.
        let untouched = preloaded.filter { writer.snapshot[$0] == nil }
        for number in [1, 2, 3] {
            let values = try cluster.client(number).values(of: untouched)
            let wrong = untouched.filter { values[$0] != .some("old:\($0)") }
            XCTAssertEqual(wrong, [], "node \(number): untouched preloaded keys wrong: \(wrong.prefix(5).map { "\($0)=\(String(describing: values[$0]))" })")
        }

        // Node 3 holds exactly the keys partition 1 owns (simple hash, 2 partitions); node 1 holds
        // every key of partition 0 (and may keep stale copies of moved keys).
        let allKeys = Set(preloaded + writtenKeys)
        let partitionOne = Set(allKeys.filter { resolver.partition(of: $0, count: 2) == 1 })
        let partitionZero = allKeys.subtracting(partitionOne)
        XCTAssertFalse(partitionOne.isEmpty)
        XCTAssertFalse(partitionZero.isEmpty)
        let onThree = try cluster.client(3).dumpKey()
        let onOne = try cluster.client(1).dumpKey()
        XCTAssertEqual(onThree.subtracting(partitionOne).sorted(), [], "node 3 holds keys of partition 0")
        XCTAssertEqual(partitionOne.subtracting(onThree).sorted(), [], "node 3 lacks keys of partition 1")
        XCTAssertEqual(partitionZero.subtracting(onOne).sorted(), [], "node 1 lacks keys of partition 0")
        // dump with a partition filter agrees with the resolver.
        XCTAssertEqual(Set(try cluster.client(1).dumpKey("0 2")), partitionZero, "dump_key 0 2 on node 1")
        XCTAssertEqual(Set(try cluster.client(3).dumpKey("1 2")), partitionOne, "dump_key 1 2 on node 3")

        // Values on the owners equal what the cluster returns.
        let threeDump = try cluster.client(3).dump()
        let values = try cluster.client(2).values(of: partitionOne.sorted())
        for key in partitionOne.sorted() {
            XCTAssertEqual(threeDump[key]?.value, values[key] ?? nil, "node 3's copy of \(key)")
        }

        // And on to three partitions: node 2 (until now the writer's proxy) becomes the master of
        // partition 2 while a second writer goes through node 1.
        let second = RecordingWriter(host: cluster.node(1).host, port: cluster.node(1).port,
                                     keys: Array(keyNames("pre-", 400).suffix(100)) + keyNames("third-", 200), pause: 0.002)
        second.start()
        XCTAssertTrue(second.waitForAcks(100), "second writer makes no progress: \(second.log.last?.reply ?? "")")
        let node2 = cluster.node(2)
        let grow = try cluster.admin("master", "\(node2.host):\(node2.port):1:2", "--force", "--activate", timeout: 60)
        XCTAssertEqual(grow.status, 0, "\(grow)")
        XCTAssertTrue(cluster.waitForIndex(2, role: "master", state: "active", partition: 2, timeout: 5),
                      "index: \((try? cluster.indexStatsNodes())?.summary ?? "?")")
        XCTAssertTrue(cluster.waitForMapsInSync([1, 2, 3]), "node maps not in sync after the third partition")
        XCTAssertTrue(second.waitForAcks(200), "second writer makes no progress with three partitions")
        second.stop()
        XCTAssertEqual(second.log.filter { !$0.ok }.count, 0, "writes failed while adding the third partition")

        // Every acknowledged write of both writers (disjoint keys: the second writes preloaded keys
        // the first never touched) reads back through every node.
        let secondKeys = Set(second.writtenKeys)
        XCTAssertTrue(secondKeys.isDisjoint(with: writtenKeys))
        for number in [1, 2, 3] {
            let latest = try cluster.client(number).values(of: second.writtenKeys)
            XCTAssertEqual(second.verify(latest), [], "node \(number): second writer's keys wrong")
            let older = try cluster.client(number).values(of: writtenKeys)
            XCTAssertEqual(writer.verify(older), [], "node \(number): first writer's keys wrong after the third partition")
        }
        // Node 2 holds exactly the keys of partition 2 (of 3).
        let everything = allKeys.union(secondKeys)
        let partitionTwo = Set(everything.filter { resolver.partition(of: $0, count: 3) == 2 })
        XCTAssertFalse(partitionTwo.isEmpty)
        XCTAssertEqual(Set(try cluster.client(2).dumpKey("2 3")), partitionTwo, "dump_key 2 3 on node 2")
        XCTAssertEqual(partitionTwo.subtracting(try cluster.client(2).dumpKey()).sorted(), [], "node 2 lacks keys of partition 2")
    }
}

/// After an activation the old partition keeps the keys that moved (as the original), on its master
/// and its slave alike, and never serves them; `flare-admin reclaim` drops them on both.
final class MovedKeysReclaimTests: ClusterTestCase {
    func testMovedKeysAreKeptUntilTheOperatorReclaimsThem() throws {
        try startMasterAndSlave()
        let resolver = try KeyResolver(algorithm: .simple, partitionSize: 1024, hint: 1, virtual: 4096)
        let keys = keyNames("mv-", 300)
        XCTAssertEqual(try cluster.load(keys.map { ($0, "v:\($0)", UInt32(1)) }, through: 3), [])
        let third = cluster.node(3)
        let grow = try cluster.admin("master", "\(third.key):1:1", "--force", "--activate", timeout: 60)
        XCTAssertEqual(grow.status, 0, "\(grow)")
        XCTAssertTrue(cluster.waitForMapsInSync([1, 2, 3]), cluster.mapsReport())
        let moved = Set(keys.filter { resolver.partition(of: $0, count: 2) == 1 })
        let stayed = Set(keys).subtracting(moved)
        XCTAssertFalse(moved.isEmpty)

        // Kept on master and slave alike (nothing deletes them on its own).
        Thread.sleep(forTimeInterval: 1.5)
        for number in [1, 2] {
            XCTAssertEqual(try cluster.client(number).dumpKey(), Set(keys), "node \(number) after the activation")
            XCTAssertEqual(try cluster.client(number).stats()["curr_items"], String(keys.count), "curr_items of node \(number)")
        }
        // ... but never served: a moved key changed on its new owner reads back new through the old ones.
        let sample = moved.sorted()[0]
        XCTAssertEqual(try cluster.client(3).store("set", sample, "new"), "STORED")
        for number in [1, 2] { XCTAssertEqual(try cluster.client(number).get(sample)?.value, "new", "via node \(number)") }
        XCTAssertEqual(try cluster.client(1).delete(sample), "DELETED")
        XCTAssertNil(try cluster.client(2).get(sample), "a delete of a moved key through the old master")

        // A node whose map disagrees with the request refuses; a proxy cannot reclaim.
        XCTAssertEqual(try cluster.client(1).line("reclaim 0 3"), "SERVER_ERROR this node serves partition 0 of 2, not 0 of 3")
        XCTAssertEqual(try cluster.client(1).line("reclaim x"), "CLIENT_ERROR usage: reclaim [<partition> <partition-count>]")
        let onSlave = try cluster.admin("reclaim", cluster.key(2), "--force")
        XCTAssertNotEqual(onSlave.status, 0, "\(onSlave)")
        XCTAssertTrue(onSlave.errors.contains("reclaim runs on an active master"), "\(onSlave)")

        let reclaim = try cluster.admin("reclaim", cluster.key(1), "--force")
        XCTAssertEqual(reclaim.status, 0, "\(reclaim)")
        // `sample` was deleted through the new owner already: the old partition still held its copy.
        XCTAssertTrue(reclaim.output.contains("\(cluster.key(1)): reclaimed \(moved.count) items"), "\(reclaim)")
        XCTAssertTrue(reclaim.output.contains("\(cluster.key(2)): reclaimed \(moved.count) items"), "\(reclaim)")
        for number in [1, 2] {
            XCTAssertEqual(try cluster.client(number).dumpKey(), stayed, "node \(number) after reclaim")
            XCTAssertEqual(try cluster.client(number).stats()["curr_items"], String(stayed.count), "curr_items of node \(number)")
        }
        // Every key still reads back through every node.
        for number in [1, 2, 3] {
            let values = try cluster.client(number).values(of: keys)
            let wrong = keys.filter { $0 != sample && values[$0] != .some("v:\($0)") }
            XCTAssertEqual(wrong, [], "node \(number) after reclaim")
        }
        let again = try cluster.admin("reclaim", "--all", "--force")
        XCTAssertEqual(again.status, 0, "\(again)")
        XCTAssertTrue(again.output.contains("\(cluster.key(1)): reclaimed 0 items"), "\(again)")
        XCTAssertTrue(again.output.contains("\(cluster.key(3)): reclaimed 0 items"), "\(again)")
    }
}
