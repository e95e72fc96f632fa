import Foundation
import XCTest

/// Every numeric argument of flared's text commands at and beyond its range, as a hostile client
/// would send them: each gets the protocol's error (or is accepted at the edge of the range), the
/// daemon stays up, and the connection stays in step. The README's "Hostile input" table lists
/// the same cases.
final class HostileInputTests: FlaredTestCase {
    private var flared: FlaredProcess!
    private var client: RawClient!

    override func setUpWithError() throws {
        try super.setUpWithError()
        flared = try startFlared()
        client = try connect(flared)
    }

    private func assertAlive(_ after: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertTrue(flared.process.isRunning, "flared died after \(after.debugDescription)", file: file, line: line)
        try exchange(client, "version\r\n", "VERSION flare-1.3.4\r\n", file: file, line: line)
    }

    private func check(_ cases: [(String, String)], file: StaticString = #filePath, line: UInt = #line) throws {
        for (request, reply) in cases {
            try exchange(client, request, reply, file: file, line: line)
            try assertAlive(request, file: file, line: line)
        }
    }

    static let badFormat = "CLIENT_ERROR bad command line format\r\n"
    static let badExptime = "CLIENT_ERROR invalid exptime argument\r\n"
    static let badDelete = "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n"
    static let badDelta = "CLIENT_ERROR invalid numeric delta argument\r\n"

    func testStorageCommandNumbers() throws {
        try check([
            // exptime is a C int as in memcached; the edges are accepted.
            ("set k 0 2147483647 1\r\nx\r\n", "STORED\r\n"),
            ("set k 0 -2147483648 1\r\nx\r\n", "STORED\r\n"),
            ("set k 0 2147483648 1\r\nx\r\n", Self.badFormat),
            ("set k 0 9223372036854775807 1\r\nx\r\n", Self.badFormat),
            ("set k 0 -9223372036854775808 1\r\nx\r\n", Self.badFormat),
            ("set k 0 99999999999999999999999 1\r\nx\r\n", Self.badFormat),
            // flags: uint32.
            ("set k 4294967295 0 1\r\nx\r\n", "STORED\r\n"),
            ("set k 4294967296 0 1\r\nx\r\n", Self.badFormat),
            ("set k -1 0 1\r\nx\r\n", Self.badFormat),
            // bytes: a C int, with room for CR LF; anything else cannot be skipped.
            ("set k 0 0 2147483647\r\n", Self.badFormat),
            ("set k 0 0 9223372036854775807\r\n", Self.badFormat),
            ("set k 0 0 -1\r\n", Self.badFormat),
            // The version of a replicated write: at most 2^63-1, so the version clock never wraps.
            ("set v 0 0 1 9223372036854775807\r\nx\r\n", "STORED\r\n"),
            ("set v 0 0 1 9223372036854775808\r\nx\r\n", Self.badFormat),
            ("set v 0 0 1 18446744073709551615\r\nx\r\n", Self.badFormat),
            // cas unique: uint64.
            ("cas k 0 0 1 18446744073709551615\r\nx\r\n", "EXISTS\r\n"),
            ("cas k 0 0 1 18446744073709551616\r\nx\r\n", Self.badFormat),
            ("cas k 0 0 1 -1\r\nx\r\n", Self.badFormat),
        ])
        // The version clock still issues versions below 2^63 + a little: a write after the edge works.
        try check([("set after 0 0 1\r\ny\r\n", "STORED\r\n"), ("incr n 1\r\n", "NOT_FOUND\r\n")])
    }

    func testTouchGatDeleteArithmeticFlush() throws {
        try exchange(client, "set k 0 0 1\r\n5\r\n", "STORED\r\n")
        try check([
            ("touch k 2147483647\r\n", "TOUCHED\r\n"),
            ("touch k 2147483648\r\n", Self.badExptime),
            ("touch k -9223372036854775808\r\n", Self.badExptime),
            ("gat 9223372036854775807 k\r\n", Self.badExptime),
            ("gats -2147483649 k\r\n", Self.badExptime),
            ("gat 0 k\r\n", "VALUE k 0 1\r\n5\r\nEND\r\n"),
            ("incr k 18446744073709551615\r\n", "4\r\n"),            // wraps at 2^64, as memcached
            ("decr k 18446744073709551615\r\n", "0\r\n"),            // stops at 0
            ("incr k 18446744073709551616\r\n", Self.badDelta),
            ("decr k -1\r\n", Self.badDelta),
            ("delete k 9223372036854775807\r\n", Self.badDelete),
            ("delete k -2147483649\r\n", Self.badDelete),
            ("delete k 0 9223372036854775808\r\n", Self.badDelete),
            ("flush_all 9223372036854775807\r\n", Self.badExptime),
            ("flush_all -9223372036854775807\r\n", Self.badExptime),
            ("flush_all 2147483648 noreply\r\n", ""),
            ("verbosity 9223372036854775807\r\n", "ERROR\r\n"),
            ("verbosity -2147483649\r\n", "ERROR\r\n"),
            ("verbosity 2147483647\r\n", "OK\r\n"),
        ])
        // Nothing above changed the item but the arithmetic.
        try exchange(client, "get k\r\n", "VALUE k 0 1\r\n0\r\nEND\r\n")
    }

    func testAdministrativeNumbers() throws {
        try exchange(client, "set k 0 0 1\r\nx\r\n", "STORED\r\n")
        try check([
            // dump: wait below 1 s per item (usleep's range), C ints elsewhere, a count above the partition.
            ("dump 0 9223372036854775807\r\n", "ERROR\r\n"),
            ("dump 0 0 1 9223372036854775807\r\n", "ERROR\r\n"),
            ("dump 0 0 1 2147483648\r\n", "ERROR\r\n"),
            ("dump 0 0 1 -1\r\n", "ERROR\r\n"),
            ("dump 9223372036854775807\r\n", "ERROR\r\n"),
            ("dump 1000000\r\n", "ERROR\r\n"),
            ("dump -1\r\n", "ERROR\r\n"),
            ("dump 0 2147483647 2147483647\r\n", "ERROR\r\n"),
            ("dump 0 0 -5\r\n", "ERROR\r\n"),
            ("dump 0 -9223372036854775808\r\n", "ERROR\r\n"),
            ("dump_key 9223372036854775807\r\n", "ERROR\r\n"),
            ("dump_key 0 1 9223372036854775807\r\n", "ERROR\r\n"),
            ("dump 999999 0 1 2147483647\r\n", "VALUE k 0 1 \(try currentVersion("k")) 0\r\nx\r\nEND\r\n"),
            ("dump_key 0 1 2147483647\r\n", "KEY k\r\nEND\r\n"),
            // backlog: C ints for the partition and its count.
            ("backlog 18446744073709551615 9223372036854775806 9223372036854775807\r\n",
             "CLIENT_ERROR usage: backlog <since-version> <partition> <partition-count>\r\n"),
            ("backlog 0 0 2147483648\r\n", "CLIENT_ERROR usage: backlog <since-version> <partition> <partition-count>\r\n"),
            ("backlog 0 -1 1\r\n", "CLIENT_ERROR usage: backlog <since-version> <partition> <partition-count>\r\n"),
            ("kill 18446744073709551615\r\n", "CLIENT_ERROR thread not found\r\n"),
            ("kill 18446744073709551616\r\n", "ERROR\r\n"),
            ("keys a 18446744073709551616\r\n", "ERROR\r\n"),
            ("stats threads 99999999999999999999\r\n", "ERROR\r\n"),
            // node sync: a version beyond 2^63-1 is malformed (its NODE lines then read as commands,
            // as the original does); from a client it is refused in any case (ClusterControlTests).
            ("node sync 18446744073709551616\r\n", "ERROR\r\n"),
        ])
    }

    /// A `dump` that waits the longest allowed per item still lets go of the store's only
    /// iteration when its client leaves.
    func testSlowDumpReleasesIterationWhenClientLeaves() throws {
        for i in 0..<5 { try exchange(client, "set k\(i) 0 0 1\r\nx\r\n", "STORED\r\n") }
        let slow = try connect(flared)
        try slow.send("dump 999999\r\n")
        _ = slow.receivedWithin(0.3)
        let other = try connect(flared)
        try exchange(other, "dump\r\n", "SERVER_ERROR database busy\r\n")
        slow.close()
        XCTAssertTrue(try eventually {
            try other.send("dump_key\r\n")
            let first = try other.readLine()
            if first.hasPrefix("SERVER_ERROR database busy") { return false }
            _ = try other.read(until: "END\r\n")
            return first.hasPrefix("KEY ")
        }, "the iteration stayed busy after the slow dump's client left")
    }

    private func currentVersion(_ key: String) throws -> String {
        try client.send("gets \(key)\r\n")
        let reply = String(decoding: try client.read(until: "END\r\n"), as: UTF8.self)
        return String(reply.split(separator: "\r\n")[0].split(separator: " ")[4])
    }
}
