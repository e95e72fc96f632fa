import Foundation
import XCTest

/// Requests split at every byte, and deep pipelines.
final class PipelineTests: FlaredTestCase {
    /// ~15 mixed requests, including a refused data block, a bad chunk and a noreply.
    static let pipeline =
        "set a 1 0 3\r\nabc\r\n" +
        "get a b\r\n" +
        "incr n 5 noreply\r\n" +
        "set n 0 0 2\r\n10\r\n" +
        "incr n 5\r\n" +
        "cas a 0 0 2 1\r\nxy\r\n" +
        "get a\r\n" +
        "set big 0 0 150\r\n" + String(repeating: "get a\r\n", count: 21) + "xxx\r\n" +
        "delete a 0\r\n" +
        "bogus\r\n" +
        "set b 0 0 3\r\nabcd\r\n" +
        "touch n 5\r\n" +
        "append n 0 0 1 noreply\r\n0\r\n" +
        "gat 100 n a\r\n" +
        "decr n 1000\r\n" +
        "version\r\n"

    static let replies =
        "STORED\r\n" +
        "VALUE a 1 3\r\nabc\r\nEND\r\n" +
        "STORED\r\n" +
        "15\r\n" +
        "EXISTS\r\n" +
        "VALUE a 1 3\r\nabc\r\nEND\r\n" +
        "SERVER_ERROR object too large for cache\r\n" +
        "DELETED\r\n" +
        "ERROR\r\n" +
        "CLIENT_ERROR bad data chunk\r\nERROR\r\n" +
        "TOUCHED\r\n" +
        "VALUE n 0 3\r\n150\r\nEND\r\n" +
        "0\r\n" +
        "VERSION flare-1.3.4\r\n"

    func testEveryByteSplitGivesTheSameRepliesAsOneWrite() throws {
        let arguments = ["--max-value-size", "100"]
        let whole = try connect(try startFlared(arguments))
        try exchange(whole, PipelineTests.pipeline, PipelineTests.replies)

        let split = try connect(try startFlared(arguments))
        try split.sendSlowly(Memcache.bytes(PipelineTests.pipeline), chunk: 1, pauseEvery: 4, pauseMicroseconds: 500)
        expectReply(split, PipelineTests.replies)

        // Chunks of 2, 3 and 7 bytes move every boundary again.
        for chunk in [2, 3, 7] {
            let other = try connect(try startFlared(arguments))
            try other.sendSlowly(Memcache.bytes(PipelineTests.pipeline), chunk: chunk, pauseEvery: 2, pauseMicroseconds: 300)
            expectReply(other, PipelineTests.replies)
        }
    }

    func testFiveThousandPipelinedSetAndGetInOneWrite() throws {
        let client = try connect(try startFlared())
        var request = ""
        var expected = ""
        request.reserveCapacity(5000 * 48)
        expected.reserveCapacity(5000 * 48)
        for i in 0..<5000 {
            let key = "pipe:\(i)"
            let value = "value-\(i)-" + String(repeating: "v", count: i % 13)
            request += Memcache.set(key, value, flags: UInt32(i)) + "get \(key)\r\n"
            expected += "STORED\r\n" + Memcache.value(key, value, flags: UInt32(i)) + "END\r\n"
        }
        let bytes = Memcache.bytes(request)
        // Write from another thread so neither side can block the other whatever the buffer sizes.
        let writer = BackgroundWriter(client: client, bytes: bytes)
        let reply = client.read(matching: Memcache.bytes(expected), timeout: 30)
        XCTAssertNil(writer.wait(), "send failed")
        XCTAssertEqual(Bytes.count("STORED\r\n", in: reply), 5000)
        XCTAssertEqual(Bytes.count("END\r\n", in: reply), 5000)
        if reply != Memcache.bytes(expected) {
            let firstDifference = zip(reply, Memcache.bytes(expected)).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(reply.count, expected.utf8.count)
            XCTFail("replies differ at byte \(firstDifference) of \(expected.utf8.count): got \(Bytes.show(Array(reply.dropFirst(max(0, firstDifference - 40)).prefix(120))))")
        }
        try exchange(client, "get pipe:4999 pipe:0\r\n",
                     Memcache.value("pipe:4999", "value-4999-" + String(repeating: "v", count: 4999 % 13), flags: 4999) +
                        Memcache.value("pipe:0", "value-0-", flags: 0) + "END\r\n")
    }
}

/// Sends bytes on its own thread; `wait` returns the error, if any.
final class BackgroundWriter: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var error: Error?

    init(client: RawClient, bytes: [UInt8]) {
        let thread = Thread { [self] in
            do { try client.send(bytes) } catch { self.error = error }
            done.signal()
        }
        thread.start()
    }

    func wait(timeout: Double = 30) -> Error? {
        if done.wait(timeout: .now() + timeout) == .timedOut { return HarnessError.message("writer still blocked after \(timeout) s") }
        return error
    }
}
