import FlareProtocol
@testable import FlareNode
import XCTest

/// The exact bytes a node sends when it forwards a client's write to the key's owner.
final class ForwardedRequestTests: XCTestCase {
    private static let selfKey = "node-a:12121"
    private static let now: Int64 = 1_700_000_000

    /// `request` (client bytes) as this node forwards it.
    private func forwarded(_ request: String, file: StaticString = #filePath, line: UInt = #line) -> String? {
        withParsedRequest(request, file: file, line: line) { parsed in
            let out = ReplyBuffer()
            ForwardedRequest.appendWrite(parsed, selfKey: Self.selfKey, now: Self.now, to: out)
            return text(of: out)
        }
    }

    private func assertForwarded(_ cases: [(request: String, expected: String)],
                                 file: StaticString = #filePath, line: UInt = #line) {
        for (request, expected) in cases {
            XCTAssertEqual(forwarded(request, file: file, line: line), expected, request.debugDescription, file: file, line: line)
        }
    }

    func testStorageCommands() {
        assertForwarded([
            ("set k 5 0 3\r\nabc\r\n", "<node-a:12121>set k 5 0 3\r\nabc\r\n"),
            ("add k 0 0 1\r\nx\r\n", "<node-a:12121>add k 0 0 1\r\nx\r\n"),
            ("replace k 7 0 2\r\nxy\r\n", "<node-a:12121>replace k 7 0 2\r\nxy\r\n"),
            ("append k 0 0 2\r\nxy\r\n", "<node-a:12121>append k 0 0 2\r\nxy\r\n"),
            ("prepend k 0 0 2\r\nxy\r\n", "<node-a:12121>prepend k 0 0 2\r\nxy\r\n"),
            ("set k 4294967295 0 0\r\n\r\n", "<node-a:12121>set k 4294967295 0 0\r\n\r\n"),
            // The data block goes verbatim, line endings inside it included.
            ("set k 0 0 7\r\n\r\nEND\r\n\r\n", "<node-a:12121>set k 0 0 7\r\n\r\nEND\r\n\r\n"),
        ])
    }

    func testCasCarriesItsUniqueAndVersionedWritesTheirVersion() {
        assertForwarded([
            ("cas k 1 0 1 77\r\nx\r\n", "<node-a:12121>cas k 1 0 1 77\r\nx\r\n"),
            ("cas k 1 0 1 0\r\nx\r\n", "<node-a:12121>cas k 1 0 1 0\r\nx\r\n"),
            ("set k 0 0 1 9\r\nx\r\n", "<node-a:12121>set k 0 0 1 9\r\nx\r\n"),
            ("add k 0 0 1 9223372036854775807\r\nx\r\n", "<node-a:12121>add k 0 0 1 9223372036854775807\r\nx\r\n"),
        ])
    }

    func testDelete() {
        assertForwarded([
            ("delete k\r\n", "<node-a:12121>delete k\r\n"),
            ("delete k 0\r\n", "<node-a:12121>delete k\r\n"),
            ("delete k 10\r\n", "<node-a:12121>delete k 1700000010\r\n"),
            ("delete k 2000000000\r\n", "<node-a:12121>delete k 2000000000\r\n"),
            ("delete k 0 7\r\n", "<node-a:12121>delete k 0 7\r\n"),
            ("delete k 10 7\r\n", "<node-a:12121>delete k 1700000010 7\r\n"),
            ("delete k -1\r\n", "<node-a:12121>delete k -1\r\n"),
            ("delete k 10 7 noreply\r\n", "<node-a:12121>delete k 1700000010 7 noreply\r\n"),
            ("delete k sync\r\n", "<node-a:12121>delete k sync\r\n"),
        ])
    }

    func testIncrDecrAndTouch() {
        assertForwarded([
            ("incr k 5\r\n", "<node-a:12121>incr k 5\r\n"),
            ("decr k 3\r\n", "<node-a:12121>decr k 3\r\n"),
            ("incr k 18446744073709551615 noreply\r\n", "<node-a:12121>incr k 18446744073709551615 noreply\r\n"),
            ("incr k 0 async\r\n", "<node-a:12121>incr k 0 async\r\n"),
            ("touch k 0\r\n", "<node-a:12121>touch k 0\r\n"),
            ("touch k 100\r\n", "<node-a:12121>touch k 1700000100\r\n"),
            ("touch k -5\r\n", "<node-a:12121>touch k -1\r\n"),
            ("touch k 100 noreply\r\n", "<node-a:12121>touch k 1700000100 noreply\r\n"),
        ])
    }

    func testOptions() {
        assertForwarded([
            ("set k 0 0 1 noreply\r\nx\r\n", "<node-a:12121>set k 0 0 1 noreply\r\nx\r\n"),
            ("set k 0 0 1 sync\r\nx\r\n", "<node-a:12121>set k 0 0 1 sync\r\nx\r\n"),
            ("set k 0 0 1 async\r\nx\r\n", "<node-a:12121>set k 0 0 1 async\r\nx\r\n"),
            // Options are written in one order whatever order the client used.
            ("set k 0 0 1 async noreply\r\nx\r\n", "<node-a:12121>set k 0 0 1 noreply async\r\nx\r\n"),
            ("set k 0 0 1 9 noreply sync\r\nx\r\n", "<node-a:12121>set k 0 0 1 9 noreply sync\r\nx\r\n"),
            ("cas k 0 0 1 5 noreply\r\nx\r\n", "<node-a:12121>cas k 0 0 1 5 noreply\r\nx\r\n"),
            ("delete k 0 3 async noreply\r\n", "<node-a:12121>delete k 0 3 noreply async\r\n"),
        ])
    }

    func testProxyPrefixAppendsThisNodeToTheIncomingPath() {
        assertForwarded([
            ("<node-b:12121>set k 0 0 1\r\nx\r\n", "<node-b:12121,node-a:12121>set k 0 0 1\r\nx\r\n"),
            ("<node-c:1,node-b:2>delete k\r\n", "<node-c:1,node-b:2,node-a:12121>delete k\r\n"),
            ("<node-b:12121>incr k 1 noreply\r\n", "<node-b:12121,node-a:12121>incr k 1 noreply\r\n"),
        ])
    }

    func testRelativeExptimesBecomeAbsolute() {
        assertForwarded([
            ("set k 0 1 1\r\nx\r\n", "<node-a:12121>set k 0 1700000001 1\r\nx\r\n"),
            ("set k 0 60 1\r\nx\r\n", "<node-a:12121>set k 0 1700000060 1\r\nx\r\n"),
            // 30 days is the last relative value; one more second is a Unix time.
            ("set k 0 2592000 1\r\nx\r\n", "<node-a:12121>set k 0 1702592000 1\r\nx\r\n"),
            ("set k 0 2592001 1\r\nx\r\n", "<node-a:12121>set k 0 2592001 1\r\nx\r\n"),
            ("set k 0 1800000000 1\r\nx\r\n", "<node-a:12121>set k 0 1800000000 1\r\nx\r\n"),
            ("cas k 0 100 1 3\r\nx\r\n", "<node-a:12121>cas k 0 1700000100 1 3\r\nx\r\n"),
        ])
    }

    func testAnAlreadyExpiredExptimeIsForwardedAsMinusOne() {
        // Not as 1, which the receiver would read as "one second from now".
        assertForwarded([
            ("set k 0 -1 1\r\nx\r\n", "<node-a:12121>set k 0 -1 1\r\nx\r\n"),
            ("set k 0 -1000 1\r\nx\r\n", "<node-a:12121>set k 0 -1 1\r\nx\r\n"),
            ("add k 0 -1 1 noreply\r\nx\r\n", "<node-a:12121>add k 0 -1 1 noreply\r\nx\r\n"),
        ])
    }

    func testAppendExpiry() {
        let cases: [(absolute: Int64, expected: String)] = [(0, "0"), (1, "-1"), (2, "2"), (1_700_000_060, "1700000060")]
        for (absolute, expected) in cases {
            let out = ReplyBuffer()
            ForwardedRequest.appendExpiry(absolute, to: out)
            XCTAssertEqual(text(of: out), expected, "\(absolute)")
        }
    }
}
