import XCTest

/// The history checks of the shared-key harness on small hand-made histories: they must flag what
/// no correct store can produce and accept every outcome that overlapping operations allow.
final class SharedKeyChecksTests: XCTestCase {
    private func op(_ kind: SharedOpKind, _ value: String, _ sent: Double, _ replied: Double, _ outcome: SharedOpOutcome = .acked,
                    key: String = "k", client: Int = 0) -> SharedOp {
        SharedOp(client: client, kind: kind, key: key, value: value, via: "t", sent: sent, replied: replied, outcome: outcome, reply: "")
    }

    private func flagged(_ final: String?, _ history: [SharedOp]) -> [String: Int] {
        var checks = SharedKeyChecks()
        checks.checkDataKey("k", final: final, history: history)
        return checks.violations.mapValues(\.count)
    }

    func testLastWriteAndOverlaps() {
        let a = op(.set, "a", 0, 1, client: 1), b = op(.set, "b", 2, 3, client: 2)
        XCTAssertEqual(flagged("b", [a, b]), [:])
        XCTAssertEqual(flagged("a", [a, b]), ["b-no-lost-write": 1], "a finished before b was sent")
        // Overlapping acknowledged sets: either may be last.
        let c = op(.set, "c", 0, 2, client: 1), d = op(.set, "d", 1, 3, client: 2)
        XCTAssertEqual(flagged("c", [c, d]), [:])
        XCTAssertEqual(flagged("d", [c, d]), [:])
        // An uncertain set may land any time after it was sent; a refused one never.
        XCTAssertEqual(flagged("u", [op(.set, "u", 0, 0.5, .uncertain, client: 1), b]), [:])
        XCTAssertEqual(flagged("r", [op(.set, "r", 4, 5, .refused, client: 1), b]), ["b-no-lost-write": 1])
    }

    func testDeletes() {
        let set = op(.set, "a", 0, 1, client: 1), delete = op(.delete, "", 2, 3, client: 2)
        XCTAssertEqual(flagged(nil, [set, delete]), [:])
        XCTAssertEqual(flagged("a", [set, delete]), ["b-no-lost-write": 1], "deleted key came back")
        XCTAssertEqual(flagged(nil, [set]), ["b-no-lost-write": 1], "acknowledged set lost")
        // A delete overlapping the set may come after it.
        XCTAssertEqual(flagged(nil, [op(.set, "a", 0, 2, client: 1), op(.delete, "", 1, 3, client: 2)]), [:])
        XCTAssertEqual(flagged(nil, [op(.set, "a", 0, 1, .uncertain, client: 1)]), [:])
    }

    func testAppends() {
        let set = op(.set, "a", 0, 1, client: 1)
        let first = op(.append, "t1", 2, 3, client: 2), second = op(.append, "t2", 4, 5, client: 3)
        XCTAssertEqual(flagged("a,t1,t2", [set, first, second]), [:])
        XCTAssertEqual(flagged("a,t1", [set, first, second]), ["d-append-exactly-once": 1], "acknowledged append lost")
        XCTAssertEqual(flagged("a,t1,t1,t2", [set, first, second]), ["d-append-exactly-once": 1], "applied twice")
        XCTAssertEqual(flagged("a,t2,t1", [set, first, second]), ["d-append-exactly-once": 1], "out of order")
        let overlapping = op(.append, "t3", 2.5, 4.5, client: 4)
        XCTAssertEqual(flagged("a,t1,t3,t2", [set, first, overlapping, second]), [:])
        XCTAssertEqual(flagged("a,t1,t2,t3", [set, first, overlapping, second]), [:])
        XCTAssertEqual(flagged("a,t1,t2", [set, first, op(.append, "t3", 2.5, 2.6, .uncertain, client: 4), second]), [:])
    }

    func testCounter() {
        let history = [op(.incr, "1", 0, 1, key: "c"), op(.incr, "2", 1, 2, key: "c"), op(.incr, "", 2, 3, .uncertain, key: "c"),
                       op(.incr, "3", 3, 4, key: "c")]
        for (final, bad) in [("3", false), ("4", false), ("2", true), ("5", true), (nil, true)] as [(String?, Bool)] {
            var checks = SharedKeyChecks()
            checks.checkCounter("c", final: final, history: history)
            XCTAssertEqual(checks.violations["c-incr-exactly-once"]?.count ?? 0, bad ? 1 : 0, "final \(final ?? "absent")")
        }
        var checks = SharedKeyChecks()
        checks.checkCounter("c", final: "3", history: history + [op(.incr, "3", 5, 6, key: "c")])
        XCTAssertEqual(checks.violations["c-incr-exactly-once"]?.count, 1, "two increments returned 3")
    }

    func testReplicas() {
        let item = DumpedItem(flags: 1, value: "a", version: 5, expire: 0)
        var checks = SharedKeyChecks()
        checks.checkReplicas([("m", ["k": item]), ("s", ["k": item])], history: [])
        XCTAssertEqual(checks.violations, [:])
        checks.checkReplicas([("m", ["k": item]), ("s", ["k": DumpedItem(flags: 1, value: "a", version: 6, expire: 0)]), ("t", [:])], history: [])
        XCTAssertEqual(checks.violations["a-replicas-identical"]?.count, 1)
    }
}
