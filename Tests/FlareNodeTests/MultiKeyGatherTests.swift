import FlareCluster
import FlareProtocol
@testable import FlareNode
import XCTest

/// A multi-key read spread over this node, other nodes and keys nobody can serve.
final class MultiKeyGatherTests: XCTestCase {
    private static let n1 = Peer(nodeKey: "n1:12121", position: 0)
    private static let n2 = Peer(nodeKey: "n2:12121", position: 1)

    private enum Place { case local, miss, remote(Peer) }

    private func makeGather(_ keys: [(String, Place)], command: Command = .get, expire: Int64 = 0) -> MultiKeyGather {
        let gather = MultiKeyGather(command: command, expire: expire)
        for (key, place) in keys {
            Array(key.utf8).withUnsafeBytes { key in
                switch place {
                case .local: gather.addLocal(key)
                case .miss: gather.addMiss(key)
                case .remote(let node): gather.addRemote(key, peer: node)
                }
            }
        }
        return gather
    }

    private func request(_ gather: MultiKeyGather, _ index: Int) -> String {
        let out = ReplyBuffer()
        gather.appendRequest(for: index, selfKey: "self:12121", to: out)
        return text(of: out)
    }

    private func receive(_ gather: MultiKeyGather, _ reply: String, for index: Int) {
        Array(reply.utf8).withUnsafeBytes { gather.received($0, for: index) }
    }

    /// The slots in visiting order: `local <key>`, the remote block, or `miss`.
    private func slots(_ gather: MultiKeyGather) -> [String] {
        var result: [String] = []
        gather.forEachSlot { slot in
            switch slot {
            case .local(let key): result.append("local " + String(decoding: key, as: UTF8.self))
            case .remote(let block?): result.append(String(decoding: block, as: UTF8.self))
            case .remote(nil): result.append("miss")
            }
        }
        return result
    }

    /// a local, b and e on n1, c a miss, d on n2.
    private func spread(_ command: Command = .get, expire: Int64 = 0) -> MultiKeyGather {
        makeGather([("a", .local), ("b", .remote(Self.n1)), ("c", .miss), ("d", .remote(Self.n2)), ("e", .remote(Self.n1))],
                   command: command, expire: expire)
    }

    func testKeysAreGroupedByDestinationInFirstSeenOrder() {
        let gather = spread()
        XCTAssertEqual(gather.destinations.map(\.peer.nodeKey), ["n1:12121", "n2:12121"])
        let keys = gather.destinations.indices.map { index in
            var keys: [String] = []
            gather.forEachKey(of: index) { keys.append(String(decoding: $0, as: UTF8.self)) }
            return keys
        }
        XCTAssertEqual(keys, [["b", "e"], ["d"]])
        XCTAssertTrue(gather.hasRemote)
        XCTAssertFalse(gather.isComplete)
    }

    func testOnlyLocalAndMissingKeysNeedNoRequest() {
        let gather = makeGather([("a", .local), ("c", .miss), ("a", .local)])
        XCTAssertFalse(gather.hasRemote)
        XCTAssertTrue(gather.isComplete)
        XCTAssertEqual(slots(gather), ["local a", "miss", "local a"])
    }

    func testRequestLinePerDestination() {
        let cases: [(command: Command, expire: Int64, n1: String, n2: String)] = [
            (.get, 0, "get b e\r\n", "get d\r\n"),
            (.gets, 0, "gets b e\r\n", "gets d\r\n"),
            (.gat, 1_700_000_100, "gat 1700000100 b e\r\n", "gat 1700000100 d\r\n"),
            (.gats, 0, "gats 0 b e\r\n", "gats 0 d\r\n"),
            (.gat, 1, "gat -1 b e\r\n", "gat -1 d\r\n"),  // already expired, not "in one second"
        ]
        for (command, expire, n1, n2) in cases {
            let gather = spread(command, expire: expire)
            XCTAssertEqual(request(gather, 0), n1, "\(command) \(expire)")
            XCTAssertEqual(request(gather, 1), n2, "\(command) \(expire)")
        }
    }

    func testRepliesAreAssembledInTheClientsKeyOrder() {
        let gather = spread(.gets)
        receive(gather, "VALUE d 3 2 9\r\nDD\r\nEND\r\n", for: 1)
        XCTAssertFalse(gather.isComplete)
        receive(gather, "VALUE b 0 1 7\r\nB\r\nVALUE e 5 3 8\r\nE\r\n\r\nEND\r\n", for: 0)
        XCTAssertTrue(gather.isComplete)
        XCTAssertEqual(slots(gather), [
            "local a",
            "VALUE b 0 1 7\r\nB\r\n",
            "miss",
            "VALUE d 3 2 9\r\nDD\r\n",
            "VALUE e 5 3 8\r\nE\r\n\r\n",
        ])
    }

    func testKeysMissingFromAReplyAreMisses() {
        let gather = makeGather([("b", .remote(Self.n1)), ("e", .remote(Self.n1)), ("f", .remote(Self.n1)), ("g", .remote(Self.n1))])
        XCTAssertEqual(request(gather, 0), "get b e f g\r\n")
        receive(gather, "VALUE e 0 1\r\nE\r\nVALUE g 0 1\r\nG\r\nEND\r\n", for: 0)
        XCTAssertEqual(slots(gather), ["miss", "VALUE e 0 1\r\nE\r\n", "miss", "VALUE g 0 1\r\nG\r\n"])
    }

    func testAnErrorReplyGivesNoHits() {
        let gather = spread()
        receive(gather, "SERVER_ERROR timeout\r\n", for: 0)
        receive(gather, "END\r\n", for: 1)
        XCTAssertTrue(gather.isComplete)
        XCTAssertEqual(slots(gather), ["local a", "miss", "miss", "miss", "miss"])
    }

    func testAFailedDestinationsKeysAreMisses() {
        let gather = spread()
        receive(gather, "VALUE b 0 1\r\nB\r\nVALUE e 0 1\r\nE\r\nEND\r\n", for: 0)
        gather.failed(1)
        XCTAssertTrue(gather.isComplete)
        XCTAssertEqual(slots(gather), ["local a", "VALUE b 0 1\r\nB\r\n", "miss", "miss", "VALUE e 0 1\r\nE\r\n"])
    }

    func testAFailedDestinationLeavesTheOthersHits() {
        let gather = spread()
        receive(gather, "VALUE d 0 1\r\nD\r\nEND\r\n", for: 1)
        gather.failed(0)
        XCTAssertEqual(slots(gather), ["local a", "miss", "miss", "VALUE d 0 1\r\nD\r\n", "miss"])
    }

    func testDuplicateKeys() {
        let gather = makeGather([("b", .remote(Self.n1)), ("a", .local), ("b", .remote(Self.n1)), ("a", .local), ("c", .miss), ("c", .miss)])
        XCTAssertEqual(gather.destinations.count, 1)
        XCTAssertEqual(request(gather, 0), "get b b\r\n")
        receive(gather, "VALUE b 0 1\r\nB\r\nVALUE b 0 1\r\nB\r\nEND\r\n", for: 0)
        XCTAssertEqual(slots(gather), ["VALUE b 0 1\r\nB\r\n", "local a", "VALUE b 0 1\r\nB\r\n", "local a", "miss", "miss"])
    }

    func testADuplicateAnsweredOnceHitsOnlyItsFirstOccurrence() {
        let gather = makeGather([("b", .remote(Self.n1)), ("b", .remote(Self.n1))])
        receive(gather, "VALUE b 0 1\r\nB\r\nEND\r\n", for: 0)
        XCTAssertEqual(slots(gather), ["VALUE b 0 1\r\nB\r\n", "miss"])
    }

    /// A node's keys go in requests of bounded length; the reply is still assembled in key order.
    func testManyKeysForOneNodeAreSplitIntoBoundedRequests() {
        let keys = (0..<3000).map { "key-\($0)-" + String(repeating: "x", count: 20) }
        let gather = makeGather(keys.map { ($0, .remote(Self.n1)) })
        XCTAssertGreaterThan(gather.destinations.count, 2)
        XCTAssertTrue(gather.destinations.allSatisfy { $0.peer.nodeKey == "n1:12121" })
        var sent: [String] = []
        for index in gather.destinations.indices {
            let line = request(gather, index)
            XCTAssertLessThanOrEqual(line.utf8.count, MultiKeyGather.requestKeyBytes + 16)
            XCTAssertTrue(line.hasSuffix("\r\n"))
            sent += line.dropLast().split(separator: " ").dropFirst().map(String.init)  // "\r\n" is one Character
            var hits: [String] = []
            gather.forEachKey(of: index) { key in
                hits.append("VALUE \(String(decoding: key, as: UTF8.self)) 0 1\r\nv\r\n")
            }
            receive(gather, hits.joined() + "END\r\n", for: index)
        }
        // Compared as a whole, reported by the first difference (3,000 keys would flood the log).
        XCTAssertEqual(sent.count, keys.count)
        XCTAssertNil(zip(sent, keys).first { $0 != $1 }, "first key sent out of order")
        XCTAssertTrue(gather.isComplete)
        let assembled = slots(gather)
        XCTAssertEqual(assembled.count, keys.count)
        XCTAssertNil(zip(assembled, keys).first { $0 != "VALUE \($1) 0 1\r\nv\r\n" }, "first slot out of order")
    }
}
