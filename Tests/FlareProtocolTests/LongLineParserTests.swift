import FlareProtocol
import XCTest

/// get/gets/gat/gats lines may exceed the line limit (up to the retrieval limit); a connection's
/// scan hint skips what was already searched for a line end.
final class LongLineParserTests: XCTestCase {
    private let parser = RequestParser(limits: ParserLimits(maxLineLength: 64, maxRetrievalLineLength: 256))

    private func parse(_ text: String, hint: Int = 0) -> ParseResult {
        Array(text.utf8).withUnsafeBytes { parser.parse($0, scannedWithoutNewline: hint) }
    }

    private func keyCount(_ result: ParseResult) -> Int? {
        guard case .request(let request, _) = result else { return nil }
        var keys = request.keys
        var count = 0
        while keys.next() != nil { count += 1 }
        return count
    }

    func testRetrievalLinesMayBeLongerThanOtherLines() {
        let keys = (0..<30).map { "k\($0)" }.joined(separator: " ")   // ~110 bytes
        for command in ["get", "gets", "gat 0", "gats 0", " get"] {
            XCTAssertEqual(keyCount(parse("\(command) \(keys)\r\n")), 30, command)
        }
        guard case .invalid(.lineTooLong, _, _, _, true) = parse("set \(keys)") else { return XCTFail("set line accepted") }
        guard case .invalid(.lineTooLong, _, _, _, true) = parse("get " + String(repeating: "k ", count: 130)) else {
            return XCTFail("get line over the retrieval limit accepted")
        }
        guard case .needMore(0) = parse("get \(keys)") else { return XCTFail("incomplete get line") }
    }

    func testScanHintSkipsWhatHoldsNoLineEnd() {
        let line = "get " + (0..<30).map { "k\($0)" }.joined(separator: " ")
        guard case .needMore(0) = parse(line) else { return XCTFail("incomplete") }
        // The same bytes plus the end: found whatever part was already scanned.
        for hint in [0, 10, 64, line.utf8.count] {
            XCTAssertEqual(keyCount(parse(line + "\r\n", hint: hint)), 30, "hint \(hint)")
        }
        XCTAssertEqual(keyCount(parse("get a\r\n", hint: 1000)), nil, "a hint past the input finds nothing there")
    }
}
