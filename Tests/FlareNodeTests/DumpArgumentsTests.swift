@testable import FlareNode
import XCTest

/// `dump` and `dump_key` argument rules, one row per line of the transcript.
final class DumpArgumentsTests: XCTestCase {
    /// wait / partition / partition count / bwlimit, or nil when the request is refused.
    private struct Parsed: Equatable, CustomStringConvertible {
        let wait: Int, partition: Int, count: Int, bwlimit: Int
        var description: String { "wait=\(wait) partition=\(partition) count=\(count) bwlimit=\(bwlimit)" }
    }

    private static let all = Parsed(wait: 0, partition: -1, count: 0, bwlimit: 0)

    private func parse(_ line: String) -> Parsed? {
        withParsedRequest(line + "\r\n") { request in
            DumpArguments(request.arguments, hasWait: request.command == .dump).map {
                Parsed(wait: $0.wait, partition: $0.partition, count: $0.partitionCount, bwlimit: $0.bwlimitKiB)
            }
        } ?? nil
    }

    func testDump() {
        let cases: [(line: String, expected: Parsed?)] = [
            ("dump", Self.all),
            ("dump 0", Self.all),
            ("dump 0 0 1", Parsed(wait: 0, partition: 0, count: 1, bwlimit: 0)),
            ("dump 0 0 2", Parsed(wait: 0, partition: 0, count: 2, bwlimit: 0)),
            ("dump 0 1 2", Parsed(wait: 0, partition: 1, count: 2, bwlimit: 0)),
            ("dump 0 0 2 0", Parsed(wait: 0, partition: 0, count: 2, bwlimit: 0)),
            ("dump 250 1 3 512", Parsed(wait: 250, partition: 1, count: 3, bwlimit: 512)),
            ("dump 0 2 2", nil),   // the count must include the partition
            ("dump 0 0", nil),     // a partition without a count
            ("dump foo", Self.all),  // a word that is not a number ends the arguments
            ("dump -1", nil),      // negative wait
        ]
        for (line, expected) in cases {
            XCTAssertEqual(parse(line), expected, line)
        }
    }

    func testDumpKey() {
        let cases: [(line: String, expected: Parsed?)] = [
            ("dump_key", Self.all),
            ("dump_key 0 2", Parsed(wait: 0, partition: 0, count: 2, bwlimit: 0)),
            ("dump_key 1 2 64", Parsed(wait: 0, partition: 1, count: 2, bwlimit: 64)),
            ("dump_key 2 2", nil),
            ("dump_key 0", nil),
            ("dump_key foo", Self.all),
        ]
        for (line, expected) in cases {
            XCTAssertEqual(parse(line), expected, line)
        }
    }
}
