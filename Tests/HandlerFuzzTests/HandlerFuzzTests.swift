import Foundation
import XCTest
import HandlerFuzzing

/// The handler fuzzer (HandlerFuzzer) against flared's and flarei's real command handlers, in this
/// process (targets: DaemonTargets). A short run here, after the whole regression corpus
/// (`Tests/FuzzCorpus/handlers`, every input as each peer); `scripts/fuzz-handlers <inputs>` runs
/// the same with many more (`FLARE_FUZZ_INPUTS`, `FLARE_FUZZ_SEED`).
final class HandlerFuzzTests: XCTestCase {
    static let environment = ProcessInfo.processInfo.environment
    static let seed = UInt64(environment["FLARE_FUZZ_SEED"] ?? "") ?? 20_261_205

    static func inputs(default value: Int) -> Int { Int(environment["FLARE_FUZZ_INPUTS"] ?? "") ?? value }

    override class func tearDown() {
        DaemonTargets.removeScratch()
        super.tearDown()
    }

    func fuzz(_ target: HandlerFuzzer.Target, corpus: String, inputs: Int) {
        let seeds = HandlerFuzzer.corpus(at: DaemonTargets.corpusRoot.appendingPathComponent(corpus))
        XCTAssertFalse(seeds.isEmpty, "no regression corpus in \(DaemonTargets.corpusRoot.path)/\(corpus)")
        var fuzzer = HandlerFuzzer(target: target, seed: Self.seed, corpus: seeds)
        do {
            let summary = try fuzzer.run(inputs: inputs)
            print("[HandlerFuzzTests] \(target.name), seed \(Self.seed): \(summary)")
            XCTAssertEqual(summary.byOrigin["corpus"], seeds.count * target.peers.count)
        } catch let finding as HandlerFuzzer.Finding {
            XCTFail("\(finding)")
        } catch {
            XCTFail("\(error)")
        }
    }

    func testNodeHandlers() throws {
        fuzz(try DaemonTargets.node(), corpus: "node", inputs: Self.inputs(default: 4000))
    }

    func testIndexHandlers() throws {
        fuzz(try DaemonTargets.index(), corpus: "index", inputs: Self.inputs(default: 1500))
    }
}

/// flarei decides a connection's protocol by its first byte only: a later read that starts with
/// 0x80 is a text line (answered `ERROR`), not a reason to drop the connection and what follows.
final class IndexWireProtocolTests: XCTestCase {
    private func exchange(_ fd: Int32, _ bytes: [UInt8]) -> String {
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var wait = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
        while !(reply.count >= 2 && reply[reply.count - 2] == 0x0D && reply[reply.count - 1] == 0x0A) {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            reply += buffer[0..<n]
        }
        return String(decoding: reply, as: UTF8.self)
    }

    func testLaterReadStartingWithBinaryMagicIsText() throws {
        let target = try DaemonTargets.index()
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds), 0)
        defer { close(fds[0]) }
        target.server.adopt(connectedSocket: fds[1], peer: "127.0.0.1:40003")
        XCTAssertEqual(exchange(fds[0], Array("ping\r\n".utf8)), "OK\r\n")
        // A separate read that begins with 0x80, then a request after it on the same connection.
        XCTAssertEqual(exchange(fds[0], [0x80] + Array("x\r\n".utf8)), "ERROR\r\n")
        XCTAssertEqual(exchange(fds[0], Array("ping\r\n".utf8)), "OK\r\n")
    }

    func testConnectionOpeningWithBinaryMagicIsClosed() throws {
        let target = try DaemonTargets.index()
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds), 0)
        defer { close(fds[0]) }
        target.server.adopt(connectedSocket: fds[1], peer: "127.0.0.1:40004")
        XCTAssertEqual(exchange(fds[0], [0x80, 0x0A] + Array("ping\r\n".utf8)), "")
    }
}
