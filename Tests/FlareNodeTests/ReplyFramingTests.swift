@testable import FlareNode
import XCTest

/// Where one reply from a peer ends in the bytes received so far.
final class ReplyFramingTests: XCTestCase {
    private func length(_ shape: ReplyShape, _ input: String) -> Int? {
        Array(input.utf8).withUnsafeBytes { ReplyFraming.length(of: shape, in: $0) }
    }

    private func valueLength(_ line: String) -> Int? {
        Array(line.utf8).withUnsafeBytes { ReplyFraming.valueLength($0) }
    }

    /// Every strict prefix of `reply` is incomplete; the whole of it, alone or followed by `next`,
    /// is one reply of its own length.
    private func assertFramed(_ shape: ReplyShape, _ reply: String, next: String = "END\r\n",
                              file: StaticString = #filePath, line: UInt = #line) {
        let bytes = Array(reply.utf8)
        for cut in 0..<bytes.count {
            let prefix = bytes[..<cut].withUnsafeBytes { ReplyFraming.length(of: shape, in: $0) }
            XCTAssertNil(prefix, "complete after \(cut) of \(bytes.count) bytes of \(reply.debugDescription)", file: file, line: line)
        }
        XCTAssertEqual(length(shape, reply), bytes.count, reply.debugDescription, file: file, line: line)
        XCTAssertEqual(length(shape, reply + next), bytes.count, (reply + next).debugDescription, file: file, line: line)
    }

    func testLineReplies() {
        for reply in ["STORED\r\n", "NOT_FOUND\r\n", "42\r\n", "SERVER_ERROR out of memory\r\n", "DELETED\n", "\r\n"] {
            assertFramed(.line, reply, next: "STORED\r\n")
        }
        XCTAssertNil(length(.line, ""))
        XCTAssertNil(length(.line, "STORED\r"))
    }

    func testValueRepliesSplitAtEveryByte() {
        let replies = [
            "END\r\n",
            "VALUE k 0 3\r\nabc\r\nEND\r\n",
            "VALUE k 5 3 42\r\nabc\r\nEND\r\n",                        // gets: with cas unique
            "VALUE k 0 0\r\n\r\nEND\r\n",                             // empty value
            "VALUE a 1 2\r\nxy\r\nVALUE bb 2 4\r\nwxyz\r\nEND\r\n",  // several keys
            "VALUE k 0 4\r\na\nb\n\r\nEND\r\n",                       // line feeds inside the data
        ]
        for reply in replies { assertFramed(.values, reply) }
    }

    func testValueContainingAnEndLineIsReadByItsLength() {
        // The 7 data bytes are "\r\nEND\r\n": the reply ends only at the END after them.
        let reply = "VALUE k 0 7\r\n\r\nEND\r\n\r\nEND\r\n"
        XCTAssertEqual(reply.utf8.count, 13 + 7 + 2 + 5)
        assertFramed(.values, reply)
    }

    func testRepliesBackToBack() {
        let first = "VALUE a 0 1\r\nx\r\nEND\r\n"
        let second = "VALUE b 0 2\r\nyz\r\nEND\r\n"
        let stream = Array((first + second + "STORED\r\n").utf8)
        var offset = 0
        var lengths: [Int?] = []
        for shape in [ReplyShape.values, .values, .line] {
            let found = stream[offset...].withUnsafeBytes { ReplyFraming.length(of: shape, in: $0) }
            lengths.append(found)
            offset += found ?? 0
        }
        XCTAssertEqual(lengths, [21, 22, 8])
        XCTAssertEqual(offset, stream.count)
    }

    func testErrorLinesEndAValueReply() {
        let cases: [(input: String, expected: Int?)] = [
            ("SERVER_ERROR timeout\r\n", 22),
            ("CLIENT_ERROR bad command line format\r\nEND\r\n", 38),
            ("ERROR\r\n", 7),
            // An error after some values ends the reply there.
            ("VALUE a 0 1\r\nx\r\nSERVER_ERROR out of memory\r\n", 16 + 28),
            ("VALUE a 0 1\r\nx\r\nSERVER_ERROR out of mem", nil),
            // A VALUE line without a readable length cannot be skipped: the reply stops after it.
            ("VALUE k 0 x\r\nabc\r\nEND\r\n", 13),
            ("VALUE k 0\r\nEND\r\n", 11),
            ("VALUE k 0 9223372036854775807\r\nEND\r\n", 31),
            ("VALUE k 0 18446744073709551615\r\nEND\r\n", 32),
        ]
        for (input, expected) in cases {
            XCTAssertEqual(length(.values, input), expected, input.debugDescription)
        }
    }

    func testValueLength() {
        let cases: [(line: String, expected: Int?)] = [
            ("VALUE k 0 3\r\n", 3),
            ("VALUE k 0 3\n", 3),
            ("VALUE k 0 3", 3),
            ("VALUE k 0 3 42\r\n", 3),
            ("VALUE k 4294967295 1048576 18446744073709551615\r\n", 1_048_576),
            ("VALUE k 0 0\r\n", 0),
            ("VALUE k 0\r\n", nil),
            ("VALUE k 0 \r\n", nil),
            ("VALUE k 0 x\r\n", nil),
            ("VALUE k 0 -1\r\n", nil),
            // Longer than any value a node stores (lengths are 32-bit in the protocol): not a length.
            ("VALUE k 0 18446744073709551615\r\n", nil),
            ("VALUE k 0 9223372036854775807\r\n", nil),
        ]
        for (line, expected) in cases {
            XCTAssertEqual(valueLength(line), expected, line.debugDescription)
        }
    }

    func testMetaReplies() {
        for reply in ["HD\r\n", "EN\r\n", "HD c5 kfoo O1\r\n", "VA 3 f0\r\nabc\r\n", "VA 0\r\n\r\n",
                      "VA 4 Z X\r\nMN\r\n\r\n", "CLIENT_ERROR bad command line format\r\n"] {
            assertFramed(.meta, reply, next: "HD\r\n")
        }
        // A quiet request followed by `mn`: whatever came before the MN, and the MN.
        for reply in ["MN\r\n", "VA 2 q\r\nMN\r\nMN\r\n", "NF\r\nMN\r\n", "HD\r\nEN\r\nMN\r\n"] {
            assertFramed(.metaUntilNoop, reply, next: "HD\r\n")
        }
    }
}
