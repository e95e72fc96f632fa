import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The replication stream between a master and its slave, with clients writing the same keys.
final class ReplicationStreamTests: ClusterTestCase {
    private func startMasterAndSlave(replicationType: String) throws {
        try startMasterAndSlave(nodeArguments: [1: ["--replication-type", replicationType]])
    }

    /// Every item of both nodes, equal in value, flags, expiry and version, once the stream is idle.
    private func assertCopiesIdentical(timeout: Double = 10, file: StaticString = #filePath, line: UInt = #line) throws {
        var master: [String: DumpedItem] = [:], slave: [String: DumpedItem] = [:]
        let same = waitUntil(timeout: timeout, interval: 0.2) {
            guard let m = try? cluster.client(1).dump(), let s = try? cluster.client(2).dump() else { return false }
            master = m
            slave = s
            return m == s
        }
        XCTAssertFalse(master.isEmpty, "nothing was written", file: file, line: line)
        let differing = Set(master.keys).union(slave.keys).filter { master[$0] != slave[$0] }.sorted()
        XCTAssertTrue(same, "master and slave differ on \(differing.count) keys, e.g. " +
                      differing.prefix(5).map { "\($0): master \(master[$0]?.description ?? "absent"), slave \(slave[$0]?.description ?? "absent")" }.joined(separator: "; "),
                      file: file, line: line)
    }

    /// Six clients (three on the master, three through the proxy) set, delete, append to, incr,
    /// touch and gat the same eight keys as fast as they are answered. Whatever order two clients' writes of
    /// a key reach the master in, the slave must end with exactly the master's items.
    func testClientsWritingTheSameKeysLeaveIdenticalCopies() throws {
        try startMasterAndSlave(replicationType: "async")
        let keys = keyNames("shared-", 8)
        let failures = Failures()
        let entries = [cluster.node(1), cluster.node(3)].map { ($0.host, $0.port) }
        let threads = (0..<6).map { number -> Thread in
            let (host, port) = entries[number < 3 ? 0 : 1]
            return Thread {
                var random = SplitMix64(state: UInt64(number) &* 0x9E37_79B9 &+ 7)
                do {
                    let client = try TestClient(host: host, port: port, timeout: 5)
                    for op in 0..<300 {
                        let key = keys[Int(random.next() % UInt64(keys.count))]
                        let reply: String?
                        switch random.next() % 7 {
                        case 0, 1: reply = try client.store("set", key, "\(number * 1000 + op)")
                        case 2: reply = try client.delete(key)
                        case 3: reply = try client.store("append", key, "+\(number)")
                        case 4: reply = try client.line("incr \(key) 3")
                        case 5: reply = try client.line("touch \(key) 1000")
                        default:
                            // A gat's new expiry must reach the slave like a touch's.
                            _ = try client.get([key], command: "gat \(500 + op)")
                            reply = nil
                        }
                        if let reply, reply.hasPrefix("SERVER_ERROR") || reply == "ERROR" { failures.add("\(key): \(reply)") }
                    }
                } catch {
                    failures.add("client \(number): \(error)")
                }
                failures.finished()
            }
        }
        threads.forEach { $0.start() }
        XCTAssertTrue(waitUntil(timeout: 60) { failures.finishedCount == threads.count }, "clients did not finish")
        XCTAssertEqual(failures.list, [])
        try assertCopiesIdentical()
    }

    /// The master's connection to its slave is cut (the slave closes it with `kill`) while sync
    /// writes flow: the stream reconnects and sends everything unconfirmed again, so no sync write
    /// fails and the slave misses nothing.
    func testACutStreamResendsWhatTheSlaveHasNotConfirmed() throws {
        try startMasterAndSlave(replicationType: "sync")
        let keys = keyNames("cut-", 50)
        let writer = RecordingWriter(host: cluster.node(3).host, port: cluster.node(3).port, keys: keys, pause: 0)
        writer.start()
        XCTAssertTrue(writer.waitForAcks(200), "writer makes no progress: \(writer.log.last?.reply ?? "")")
        let master = cluster.node(1)
        for _ in 0..<3 {
            // The slave's request threads include the one serving the master's stream.
            let slave = try cluster.client(2)
            let threads = try slave.call("stats threads request")
            let ids = threads.compactMap { line -> String? in
                let fields = line.split(separator: " ")
                guard fields.count == 3, fields[1].hasSuffix(":peer"), fields[2].hasPrefix(master.host + ":") else { return nil }
                return String(fields[1].dropLast(":peer".count))
            }
            XCTAssertFalse(ids.isEmpty, "no connection from the master on the slave: \(threads)")
            for id in ids { _ = try slave.line("kill \(id)") }
            XCTAssertTrue(writer.waitForAcks(100), "writes stopped after the cut: \(writer.log.last?.reply ?? "")")
        }
        writer.stop()
        let failed = writer.log.filter { !$0.ok }
        XCTAssertEqual(failed.count, 0, "sync writes failed although the slave stayed up: \(failed.prefix(3).map(\.reply))")
        try assertCopiesIdentical()
        let slaveValues = try cluster.client(2).values(of: keys)
        XCTAssertEqual(writer.verify(slaveValues), [], "acknowledged writes missing on the slave")
    }

    /// Two slaves, and the master killed under writers: the index promotes one slave and sends the
    /// other back to prepare, which copies the partition afresh from the new master (it may hold
    /// copies the new master never got) and reports itself active; then both hold the same items.
    func testAfterAFailOverTheOtherSlaveCopiesFromTheNewMaster() throws {
        try startCluster(nodes: [1, 2, 3, 4], nodeArguments: [1: ["--replication-type", "sync"]])
        try cluster.makeFirstMaster(1)
        for number in [2, 3] {
            let slave = cluster.node(number)
            XCTAssertEqual(try cluster.indexCommand("node role \(slave.host) \(slave.port) slave 1 0"), "OK")
            XCTAssertTrue(cluster.waitForIndex(number, role: "slave", state: "active", partition: 0), "slave construction")
        }
        XCTAssertTrue(cluster.waitForMapsInSync([1, 2, 3, 4]), cluster.mapsReport())
        let keys = keyNames("fs-", 40)
        let writers = (0..<3).map { _ in RecordingWriter(host: cluster.node(4).host, port: cluster.node(4).port, keys: keys, pause: 0) }
        writers.forEach { $0.start() }
        for writer in writers { XCTAssertTrue(writer.waitForAcks(200), "writer makes no progress: \(writer.log.last?.reply ?? "")") }
        cluster.node(1).daemon.kill9()
        var promoted = 0
        XCTAssertTrue(waitUntil(timeout: 15) {
            promoted = [2, 3].first { (try? cluster.indexStatsNodes()[cluster.key($0)]?.role) == "master" } ?? 0
            return promoted != 0
        }, "no slave promoted: \(cluster.mapsReport())")
        let other = promoted == 2 ? 3 : 2
        for writer in writers { XCTAssertTrue(writer.waitForAcks(200), "no writes after the fail-over: \(writer.log.last?.reply ?? "")") }
        writers.forEach { $0.stop() }
        XCTAssertTrue(cluster.waitForIndex(other, role: "slave", state: "active", partition: 0, timeout: 20),
                      "the other slave did not copy the partition again: \(cluster.mapsReport())")
        XCTAssertTrue(cluster.node(other).daemon.log().contains("has a new master"), "the other slave did not resync")
        var master: [String: DumpedItem] = [:], slave: [String: DumpedItem] = [:]
        let same = waitUntil(timeout: 10, interval: 0.2) {
            guard let m = try? cluster.client(promoted).dump(), let s = try? cluster.client(other).dump() else { return false }
            (master, slave) = (m, s)
            return m == s
        }
        let differing = Set(master.keys).union(slave.keys).filter { master[$0] != slave[$0] }.sorted()
        XCTAssertTrue(same, "new master and the other slave differ on \(differing.prefix(5))")
        XCTAssertEqual(Set(master.keys), Set(keys), "every written key is on the new master")
    }

    /// A copy — a write whose proxy prefix names a node last with an `@<map version>` stamp — is
    /// applied only when that node is the master of the key's partition in the receiver's map, and
    /// the stamp is newer than the last map in which the receiver saw that node anywhere else. A
    /// proxy's (or a replaced master's) forged copy is refused; so is a copy the real master made
    /// before it was master; an unstamped write is not a copy: the slave forwards it to the master.
    func testASlaveRefusesCopiesFromANodeThatIsNotItsMasterOrFromAnEarlierEra() throws {
        try startMasterAndSlave(replicationType: "async")
        let slave = try cluster.client(2)
        let impostor = cluster.key(3), master = cluster.key(1)
        let version = try XCTUnwrap(UInt64(try slave.stats()["node_map_version"] ?? ""))
        try slave.send("<\(impostor)@\(version)>set forged 0 0 6 99\r\nforged\r\n")
        XCTAssertTrue(try slave.readLine().hasPrefix("SERVER_ERROR copy from \(impostor)"))
        try slave.send("<\(impostor)@\(version)>delete kept 0 99\r\n")
        XCTAssertTrue(try slave.readLine().hasPrefix("SERVER_ERROR"))
        // Node 1 became master after the map node 2 first saw it in as a proxy.
        try slave.send("<\(master)@1>set early 0 0 5 99\r\nearly\r\n")
        XCTAssertTrue(try slave.readLine().hasPrefix("SERVER_ERROR copy from \(master) (map version 1) refused"))
        XCTAssertEqual(try slave.dumpKey().intersection(["forged", "early"]), [])
        XCTAssertEqual(try cluster.client(2).stats()["node_map_version"], String(version))
        // A copy of the present era is applied as it is.
        try slave.send("<\(master)@\(version)>set current 0 0 3 99\r\nnow\r\n")
        XCTAssertEqual(try slave.readLine(), "STORED")
        XCTAssertEqual(try slave.dump()["current"]?.version, 99)
        // Not a copy: executed by the master, whose own copy then reaches the slave.
        try slave.send("<\(impostor)>set forwarded 0 0 1\r\nf\r\n")
        XCTAssertEqual(try slave.readLine(), "STORED")
        XCTAssertNotNil(try cluster.client(1).get("forwarded"))
        XCTAssertTrue(waitUntil(timeout: 5) { (try? cluster.client(2).dumpKey().contains("forwarded")) == true })
        // The master's own copies still go through.
        XCTAssertEqual(try cluster.client(1).store("set", "genuine", "v"), "STORED")
        XCTAssertTrue(waitUntil(timeout: 5) { (try? cluster.client(2).dumpKey().contains("genuine")) == true })
    }

    /// A new master refuses the copies of the master it replaced (they would overwrite newer
    /// writes: the new master executes writes, it applies no copies of its own partition).
    func testAMasterRefusesCopiesOfItsOwnPartition() throws {
        try startMasterAndSlave(replicationType: "async")
        let master = try cluster.client(1)
        let version = try XCTUnwrap(UInt64(try master.stats()["node_map_version"] ?? ""))
        XCTAssertEqual(try master.store("set", "mine", "new"), "STORED")
        try master.send("<\(cluster.key(2))@\(version)>set mine 0 0 3 9223372036854775000\r\nold\r\n")
        XCTAssertTrue(try master.readLine().hasPrefix("SERVER_ERROR copy from"))
        XCTAssertEqual(try master.get("mine")?.value, "new")
    }
}

/// Errors and completions collected from client threads.
private final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    private var done = 0

    func add(_ text: String) { lock.withLock { items.append(text) } }
    func finished() { lock.withLock { done += 1 } }
    var list: [String] { lock.withLock { items } }
    var finishedCount: Int { lock.withLock { done } }
}

/// A slave that falls behind shows in the master's `stats threads` and in flare-stats.
final class ReplicationLagTests: ClusterTestCase {
    func testAStoppedSlaveShowsAsLaggingAndCatchesUp() throws {
        // The index must not fail the stopped slave over during the test.
        cluster.monitorArguments = ["--monitor-interval", "1", "--monitor-threshold", "30", "--monitor-read-timeout", "300"]
        try startMasterAndSlave()
        let master = try cluster.client(1)
        let slave = cluster.node(2)
        slave.daemon.signal(SIGSTOP)
        defer { slave.daemon.signal(SIGCONT) }
        for n in 0..<40 {
            XCTAssertEqual(try master.store("set", "lag-\(n)", "v\(n)"), "STORED", "async writes do not wait for the slave")
            usleep(60_000)
        }
        let threads = try master.call("stats threads slave")
        XCTAssertTrue(threads.contains { $0.hasSuffix(":peer \(slave.key)") }, "no replication thread for the slave: \(threads)")
        XCTAssertTrue(threads.contains { $0.hasSuffix(":state lagging") }, "\(threads)")
        let run = try cluster.tool("flare-stats", [])
        XCTAssertEqual(run.status, 0, "\(run)")
        let lines = run.output.split(separator: "\n").map(String.init)
        let row = try XCTUnwrap(lines.first { $0.hasPrefix(slave.key) }, "\(run)")
        // Right-aligned columns, some empty for a node that cannot answer: cut `behind` out by
        // the header's position (between the end of `conn` and the end of `behind`).
        let header = try XCTUnwrap(lines.first { $0.hasPrefix("hostname:port") }, "\(run)")
        let from = try XCTUnwrap(header.range(of: " conn ")).upperBound
        let to = try XCTUnwrap(header.range(of: "behind")).upperBound
        let cell = row.count >= header.distance(from: header.startIndex, to: to)
            ? String(row[row.index(row.startIndex, offsetBy: header.distance(from: header.startIndex, to: from))..<row.index(row.startIndex, offsetBy: header.distance(from: header.startIndex, to: to))])
            : ""
        let behind = Int(cell.trimmingCharacters(in: .whitespaces)) ?? -1
        XCTAssertGreaterThanOrEqual(behind, 1, "flare-stats does not show the lag: \(row)")

        slave.daemon.signal(SIGCONT)
        XCTAssertTrue(waitUntil(timeout: 10) {
            guard let lines = try? cluster.client(1).call("stats threads slave") else { return false }
            return lines.contains { $0.hasSuffix(":queue 0") } && !lines.contains { $0.hasSuffix(":state lagging") }
        }, "the slave did not catch up")
        XCTAssertTrue(waitUntil(timeout: 5) { (try? cluster.client(2).dumpKey().isSuperset(of: keyNames("lag-", 40))) == true })
    }
}
