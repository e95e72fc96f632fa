#if canImport(Glibc)
import Glibc
#endif
import XCTest
import FlareNet

/// The daemons' background line client over a real socket pair: each call takes exactly one line
/// and leaves the next in the socket, since its callers keep no buffer between calls.
final class LineClientTests: XCTestCase {
    private var fds: [Int32] = [-1, -1]

    override func setUp() {
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds), 0)
        LineClient.setTimeout(fds[0], milliseconds: 200)
    }

    override func tearDown() { fds.forEach { close($0) } }

    private func write(_ text: String) { XCTAssertTrue(LineClient.send(fds[1], text)) }

    func testEachCallTakesOneLineAndLeavesTheRest() {
        write("STAT a 1\r\nSTAT b 2\nEND\r\n")
        XCTAssertEqual(LineClient.readLine(fds[0]), "STAT a 1")
        XCTAssertEqual(LineClient.readLine(fds[0]), "STAT b 2")
        XCTAssertEqual(LineClient.readLine(fds[0]), "END")
        XCTAssertNil(LineClient.readLine(fds[0]), "nothing more arrived: the timeout ends the read")
    }

    func testALineArrivingInPiecesIsJoined() {
        write("OK")
        let writer = Thread { [fds] in usleep(50_000); _ = LineClient.send(fds[1], " then\r\nnext\r\n") }
        writer.start()
        XCTAssertEqual(LineClient.readLine(fds[0]), "OK then")
        XCTAssertEqual(LineClient.readLine(fds[0]), "next")
    }

    func testALineLongerThanTheLimitIsRefused() {
        write(String(repeating: "x", count: 10_000) + "\r\n")
        XCTAssertNil(LineClient.readLine(fds[0], limit: 5000))
        write("y\r\n")
        let rest = LineClient.readLine(fds[0], limit: 20_000)
        XCTAssertTrue(rest.map { !$0.isEmpty && $0.allSatisfy { $0 == "x" } } ?? false, "the rest of the refused line")
        XCTAssertEqual(LineClient.readLine(fds[0]), "y")
    }

    func testALongLineWithinTheLimitIsReadWhole() {
        let long = String(repeating: "z", count: 9000)
        write(long + "\r\nafter\r\n")
        XCTAssertEqual(LineClient.readLine(fds[0]), long)
        XCTAssertEqual(LineClient.readLine(fds[0]), "after")
    }

    func testEndOfStreamIsNil() {
        write("partial")
        close(fds[1]); fds[1] = -1
        XCTAssertNil(LineClient.readLine(fds[0]))
    }
}
