import FlareProtocol
import XCTest

final class ReplyBufferTests: XCTestCase {
    private func text(_ buffer: ReplyBuffer) -> String { String(decoding: buffer.pending, as: UTF8.self) }

    func testDecimalFormatting() {
        let buffer = ReplyBuffer(capacity: 8)
        for value: UInt64 in [0, 7, 10, 99, 1234567890, UInt64.max] {
            buffer.removeAll()
            buffer.appendDecimal(value)
            XCTAssertEqual(text(buffer), String(value))
        }
        // Every length, at and around each power of ten (digits are counted, then written in pairs).
        for exponent in 0...19 {
            let power = (0..<exponent).reduce(UInt64(1)) { value, _ in value * 10 }
            var values = [power - 1, power, power + 1]
            let (nines, overflow) = power.multipliedReportingOverflow(by: 10)
            if !overflow { values.append(nines - 1) }
            for value in values {
                buffer.removeAll()
                buffer.appendDecimal(value)
                XCTAssertEqual(text(buffer), String(value))
            }
        }
        buffer.removeAll()
        buffer.appendDecimal(Int64(-42))
        XCTAssertEqual(text(buffer), "-42")
    }

    /// A late reply moved into the place held for it, with part of the buffer already written.
    func testMoveTailPutsTheLateReplyInItsPlace() {
        let buffer = ReplyBuffer(capacity: 8)
        buffer.append("xxA\r\n")
        buffer.consume(2)
        let hole = buffer.pendingCount
        buffer.append("C\r\nD\r\n")
        let mark = buffer.pendingCount
        buffer.append("BBBB\r\n")
        buffer.moveTail(from: mark, to: hole)
        XCTAssertEqual(text(buffer), "A\r\nBBBB\r\nC\r\nD\r\n")
        // Nothing after the hole, or nothing appended: unchanged.
        buffer.moveTail(from: buffer.pendingCount, to: 0)
        buffer.moveTail(from: 3, to: 3)
        XCTAssertEqual(text(buffer), "A\r\nBBBB\r\nC\r\nD\r\n")
    }

    func testValueLineAndGrowthKeepPendingBytes() {
        let buffer = ReplyBuffer(capacity: 64)
        let key = Array("k1".utf8), value = Array(repeating: UInt8(ascii: "v"), count: 1000)
        key.withUnsafeBytes { k in value.withUnsafeBytes { v in
            buffer.appendValue(key: k, flags: 3, value: v, cas: 9)
        } }
        let expected = "VALUE k1 3 1000 9\r\n" + String(repeating: "v", count: 1000) + "\r\n"
        XCTAssertEqual(text(buffer), expected)
        buffer.consume(6)
        XCTAssertEqual(text(buffer), String(expected.dropFirst(6)))
        buffer.append("END\r\n")
        XCTAssertTrue(text(buffer).hasSuffix("\r\nEND\r\n"))
        buffer.consume(buffer.pendingCount)
        XCTAssertTrue(buffer.isEmpty)
    }

    func testExpiryRules() {
        XCTAssertEqual(Expiry.absolute(0, now: 1000), 0)
        XCTAssertEqual(Expiry.absolute(10, now: 1000), 1010)
        XCTAssertEqual(Expiry.absolute(Expiry.relativeLimit, now: 1000), 1000 + Expiry.relativeLimit)
        XCTAssertEqual(Expiry.absolute(Expiry.relativeLimit + 1, now: 1000), Expiry.relativeLimit + 1)
        XCTAssertEqual(Expiry.absolute(-5, now: 1000), 1)
    }
}
