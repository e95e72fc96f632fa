import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A pipelining client on a proxy node: many requests in flight across two owners at once, every
/// reply in request order, also when one owner fails while the batch is in flight.
final class PipelinedProxyTests: ClusterTestCase {
    /// Partition 0 on node 1, partition 1 on node 2, node 3 a proxy; returns the keys node 2 owns.
    private func startTwoPartitions(keys: [String]) throws -> Set<String> {
        try startCluster()
        try cluster.makeFirstMaster(1)
        let second = cluster.node(2)
        let grow = try cluster.admin("master", "\(second.host):\(second.port):1:1", "--force", "--activate", timeout: 60)
        XCTAssertEqual(grow.status, 0, grow.description)
        XCTAssertTrue(cluster.waitForIndex(2, role: "master", state: "active", partition: 1), cluster.mapsReport())
        XCTAssertTrue(cluster.waitForMapsInSync([1, 2, 3]), cluster.mapsReport())
        XCTAssertEqual(try cluster.load(keys.map { ($0, "seed", 0) }, through: 1), [])
        let owned = Set(try cluster.client(2).dump().keys).intersection(keys)
        XCTAssertFalse(owned.isEmpty, "node 2 owns none of the keys")
        XCTAssertFalse(owned.count == keys.count, "node 2 owns all of the keys")
        return owned
    }

    /// One request of a batch and the reply it must get, as text.
    private struct Step {
        let request: String
        let reply: String
        let isRetrieval: Bool
    }

    private func steps(for key: String, round: Int) -> [Step] {
        let value = "v\(round)-\(key)"
        return [
            Step(request: "set \(key) 3 0 \(value.utf8.count)\r\n\(value)\r\n", reply: "STORED\r\n", isRetrieval: false),
            Step(request: "append \(key) 0 0 2\r\n+a\r\n", reply: "STORED\r\n", isRetrieval: false),
            Step(request: "get \(key)\r\n", reply: "VALUE \(key) 3 \(value.utf8.count + 2)\r\n\(value)+a\r\nEND\r\n", isRetrieval: true),
            Step(request: "delete \(key)\r\n", reply: "DELETED\r\n", isRetrieval: false),
            Step(request: "get \(key)\r\n", reply: "END\r\n", isRetrieval: true),
            Step(request: "add \(key) 5 0 \(value.utf8.count)\r\n\(value)\r\n", reply: "STORED\r\n", isRetrieval: false),
            Step(request: "incr \(key) 1\r\n",
                 reply: "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n", isRetrieval: false),
        ]
    }

    /// Reads one reply: a line, or VALUE blocks up to END.
    private func readReply(_ client: TestClient, retrieval: Bool) throws -> String {
        var text = ""
        while true {
            let line = try client.readLine()
            text += line + "\r\n"
            guard retrieval, line.hasPrefix("VALUE ") else { return text }
            let fields = line.split(separator: " ")
            guard fields.count >= 4, let length = Int(fields[3]) else { return text }
            text += String(decoding: try client.readBytes(length + 2), as: UTF8.self)
        }
    }

    func testAPipelinedBatchAcrossTwoOwnersIsAnsweredInOrder() throws {
        let keys = keyNames("pipe-", 40)
        _ = try startTwoPartitions(keys: keys)
        // The keys' steps interleaved, so consecutive requests alternate between owners, plus
        // multi-gets that span both; sent as one write of several hundred requests.
        var batch: [Step] = []
        for round in 0..<2 {
            let perKey = keys.map { steps(for: $0, round: round) }
            for index in 0..<perKey[0].count {
                for key in perKey.indices { batch.append(perKey[key][index]) }
                let sample = Array(keys.prefix(6))
                let expected = sample.map { key -> String in
                    let value = "v\(round)-\(key)"
                    switch index {
                    case 0: return "VALUE \(key) 3 \(value.utf8.count)\r\n\(value)\r\n"
                    case 1, 2: return "VALUE \(key) 3 \(value.utf8.count + 2)\r\n\(value)+a\r\n"
                    case 3, 4: return ""
                    default: return "VALUE \(key) 5 \(value.utf8.count)\r\n\(value)\r\n"
                    }
                }.joined()
                batch.append(Step(request: "get \(sample.joined(separator: " "))\r\n", reply: expected + "END\r\n", isRetrieval: true))
            }
        }
        let client = try cluster.client(3, timeout: 10)
        try client.send(Array(batch.map(\.request).joined().utf8))
        var wrong: [String] = []
        for (number, step) in batch.enumerated() {
            let reply = try readReply(client, retrieval: step.isRetrieval)
            if reply != step.reply { wrong.append("#\(number) \(step.request.prefix(40).debugDescription): got \(reply.debugDescription)") }
        }
        XCTAssertEqual(wrong.count, 0, "\(wrong.count) of \(batch.count) replies wrong or out of order:\n" + wrong.prefix(10).joined(separator: "\n"))
        XCTAssertEqual(try client.line("version").hasPrefix("VERSION"), true)
    }

    func testWhenOneOwnerFailsMidBatchTheOtherRepliesStayCorrectAndInOrder() throws {
        let keys = keyNames("fail-", 40)
        let lost = try startTwoPartitions(keys: keys)
        let second = cluster.node(2)
        // Node 2 freezes with the batch in flight, then dies: its requests fail, node 1's are
        // answered, and the client gets one reply per request, in order.
        let client = try cluster.client(3, timeout: 15)
        second.daemon.signal(SIGSTOP)
        var batch: [(key: String, request: String)] = []
        for key in keys {
            batch.append((key, "get \(key)\r\n"))
            batch.append((key, "set \(key) 0 0 3\r\nnew\r\n"))
        }
        try client.send(Array(batch.map(\.request).joined().utf8))
        Thread.sleep(forTimeInterval: 0.5)
        // SIGKILL while still stopped: it must not run again, not even for a moment.
        second.daemon.signal(SIGKILL)
        second.daemon.kill9()
        var wrong: [String] = []
        for (number, step) in batch.enumerated() {
            let retrieval = step.request.hasPrefix("get")
            let reply = try readReply(client, retrieval: retrieval)
            let expected = lost.contains(step.key) ? nil : (retrieval ? "VALUE \(step.key) 0 4\r\nseed\r\nEND\r\n" : "STORED\r\n")
            if let expected {
                if reply != expected { wrong.append("#\(number) \(step.request.prefix(30).debugDescription): got \(reply.debugDescription)") }
            } else if retrieval ? reply != "END\r\n" : !reply.hasPrefix("SERVER_ERROR") {
                // A read that cannot reach the owner is a miss, as in flare; a write is an error.
                wrong.append("#\(number) \(step.request.prefix(30).debugDescription) to the dead owner: got \(reply.debugDescription)")
            }
        }
        XCTAssertEqual(wrong.count, 0, "\(wrong.count) of \(batch.count) replies wrong or out of order:\n" + wrong.prefix(10).joined(separator: "\n"))
        // The surviving owner holds what was acknowledged.
        let survivor = try cluster.client(1)
        for key in keys where !lost.contains(key) { XCTAssertEqual(try survivor.get(key)?.value, "new", key) }
    }
}
