#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest

/// Base class: every test gets its own scratch directory and starts its own daemons, all of which
/// are stopped (SIGTERM, then SIGKILL) and removed in tear-down whatever the test did.
class FlaredTestCase: XCTestCase {
    private var scratch: ScratchDirectory?
    private var daemons: [FlaredProcess] = []
    private var clients: [RawClient] = []

    override func tearDown() {
        for client in clients { client.close() }
        clients.removeAll()
        for daemon in daemons { daemon.stop() }
        daemons.removeAll()
        scratch?.remove()
        scratch = nil
        super.tearDown()
    }

    /// This test's scratch directory (created on first use).
    func scratchDirectory() throws -> ScratchDirectory {
        if let scratch { return scratch }
        let made = try ScratchDirectory()
        scratch = made
        return made
    }

    private var dataDirCount = 0

    /// A fresh data directory path inside the scratch directory (flared creates it).
    func newDataDir() throws -> String {
        dataDirCount += 1
        return try scratchDirectory().file("data-\(dataDirCount)")
    }

    /// Starts flared on a free port with a data directory of this test; stopped in tear-down.
    @discardableResult
    func startFlared(_ arguments: [String] = [], dataDir: String? = nil, port: UInt16? = nil) throws -> FlaredProcess {
        let scratch = try scratchDirectory()
        let flared = try FlaredProcess.start(dataDir: try dataDir ?? newDataDir(), logDir: scratch.path,
                                             arguments: arguments, port: port)
        daemons.append(flared)
        return flared
    }

    /// A client connection closed in tear-down.
    func connect(_ flared: FlaredProcess) throws -> RawClient {
        let client = try flared.client()
        clients.append(client)
        return client
    }

    /// The first client of a fresh daemon, once the server has also seen the start-up probe's
    /// connection close (it counts against max-connection until then).
    func connectFirst(_ flared: FlaredProcess, file: StaticString = #filePath, line: UInt = #line) throws -> RawClient {
        let client = try connect(flared)
        XCTAssertTrue(try eventually { try statValue(client, "curr_connections") == 1 },
                      "the start-up probe connection was never closed", file: file, line: line)
        return client
    }

    func connect(port: UInt16) throws -> RawClient {
        let client = try RawClient(port: port)
        clients.append(client)
        return client
    }

    // MARK: Exact-byte exchanges

    /// Sends `request` and asserts the reply is exactly `reply`.
    func exchange(_ client: RawClient, _ request: String, _ reply: String,
                  timeout: Double = RawClient.defaultTimeout, file: StaticString = #filePath, line: UInt = #line) throws {
        try exchange(client, Array(request.utf8), Array(reply.utf8), timeout: timeout, file: file, line: line)
    }

    func exchange(_ client: RawClient, _ request: [UInt8], _ reply: [UInt8],
                  timeout: Double = RawClient.defaultTimeout, file: StaticString = #filePath, line: UInt = #line) throws {
        try client.send(request)
        expectReply(client, reply, timeout: timeout, request: request, file: file, line: line)
    }

    /// Asserts the next bytes from the server are exactly `reply`.
    func expectReply(_ client: RawClient, _ reply: String, timeout: Double = RawClient.defaultTimeout,
                     file: StaticString = #filePath, line: UInt = #line) {
        expectReply(client, Array(reply.utf8), timeout: timeout, request: nil, file: file, line: line)
    }

    func expectReply(_ client: RawClient, _ reply: [UInt8], timeout: Double = RawClient.defaultTimeout,
                     request: [UInt8]? = nil, file: StaticString = #filePath, line: UInt = #line) {
        let got = client.read(matching: reply, timeout: timeout)
        if got != reply {
            let sent = request.map { "request \(Bytes.show($0, limit: 200)): " } ?? ""
            XCTFail("\(sent)expected \(Bytes.show(reply)) (\(reply.count) bytes), got \(Bytes.show(got)) (\(got.count) bytes)\(client.isClosedByPeer ? " [connection closed]" : "")",
                    file: file, line: line)
        }
    }

    /// Sends `request` and asserts nothing comes back (noreply): a reply would arrive before the answer
    /// to the `version` that follows, since a connection's requests are answered in order; the short
    /// `quiet` wait only makes a stray reply show up on its own in the failure message.
    func exchangeSilently(_ client: RawClient, _ request: String, quiet: Double = 0.02,
                          file: StaticString = #filePath, line: UInt = #line) throws {
        try exchangeSilently(client, Array(request.utf8), quiet: quiet, file: file, line: line)
    }

    func exchangeSilently(_ client: RawClient, _ request: [UInt8], quiet: Double = 0.02,
                          file: StaticString = #filePath, line: UInt = #line) throws {
        try client.send(request)
        let extra = client.receivedWithin(quiet)
        XCTAssertEqual(Bytes.show(extra), Bytes.show([]), "request \(Bytes.show(request, limit: 200)) should get no reply", file: file, line: line)
        try exchange(client, "version\r\n", "VERSION flare-1.3.4\r\n", file: file, line: line)
    }

    /// Asserts the server closes the connection, after sending exactly `before`.
    func expectClose(_ client: RawClient, after before: String = "", timeout: Double = 5,
                     file: StaticString = #filePath, line: UInt = #line) {
        guard let got = client.waitForClose(timeout: timeout) else {
            XCTFail("connection still open after \(timeout) s", file: file, line: line)
            return
        }
        XCTAssertEqual(Bytes.show(got), Bytes.show(before), "bytes before the close", file: file, line: line)
    }

    /// `stats` as name → value, asserting the reply's framing.
    func stats(_ client: RawClient, _ command: String = "stats",
               file: StaticString = #filePath, line: UInt = #line) throws -> [(String, String)] {
        try client.send(command + "\r\n")
        let text = String(decoding: try client.read(until: "END\r\n"), as: UTF8.self)
        var pairs: [(String, String)] = []
        for row in text.split(separator: "\r\n", omittingEmptySubsequences: true) where row != "END" {
            guard row.hasPrefix("STAT ") else {
                XCTFail("unexpected stats line \(Bytes.show(String(row)))", file: file, line: line)
                continue
            }
            let body = row.dropFirst(5)
            let space = body.firstIndex(of: " ") ?? body.endIndex
            pairs.append((String(body[..<space]), space < body.endIndex ? String(body[body.index(after: space)...]) : ""))
        }
        return pairs
    }

    func statValue(_ client: RawClient, _ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> UInt64 {
        let pairs = try stats(client, file: file, line: line)
        guard let value = pairs.first(where: { $0.0 == name })?.1, let number = UInt64(value) else {
            throw HarnessError.message("no numeric stat \(name) in \(pairs)")
        }
        return number
    }

    /// `gets <key>` (or `command <key>`, e.g. "gats 100") of one live item: asserts its flags and
    /// value and returns its cas unique. Uniques come from the node's version clock (wall-clock
    /// microseconds), so tests compare them rather than spell them out.
    func casUnique(_ client: RawClient, _ key: String, flags: UInt32 = 0, value: String, command: String = "gets",
                   file: StaticString = #filePath, line: UInt = #line) throws -> UInt64 {
        try client.send("\(command) \(key)\r\n")
        let reply = String(decoding: try client.read(until: "END\r\n"), as: UTF8.self)
        let head = "VALUE \(key) \(flags) \(value.utf8.count) "
        let tail = "\r\n\(value)\r\nEND\r\n"
        guard reply.hasPrefix(head), reply.hasSuffix(tail),
              let unique = UInt64(reply.dropFirst(head.count).dropLast(tail.count)) else {
            XCTFail("\(command) \(key): expected \(Bytes.show(head + "<cas>" + tail)), got \(Bytes.show(reply))", file: file, line: line)
            throw HarnessError.message("unexpected \(command) reply")
        }
        return unique
    }

    /// Polls `condition` every 20 ms until it holds or `timeout` passes.
    func eventually(timeout: Double = 5, _ condition: () throws -> Bool) rethrows -> Bool {
        let end = Clock.now() + timeout
        while Clock.now() < end {
            if try condition() { return true }
            usleep(20_000)
        }
        return try condition()
    }
}

/// Request and reply builders.
enum Memcache {
    static func set(_ key: String, _ value: String, flags: UInt32 = 0, exptime: Int = 0, command: String = "set", noreply: Bool = false) -> String {
        "\(command) \(key) \(flags) \(exptime) \(value.utf8.count)\(noreply ? " noreply" : "")\r\n\(value)\r\n"
    }

    static func value(_ key: String, _ value: String, flags: UInt32 = 0, cas: UInt64? = nil) -> String {
        "VALUE \(key) \(flags) \(value.utf8.count)\(cas.map { " \($0)" } ?? "")\r\n\(value)\r\n"
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
}
