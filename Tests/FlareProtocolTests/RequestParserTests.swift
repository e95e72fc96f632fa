import FlareProtocol
import XCTest

/// Parses `text` and returns a description of the outcome, so tables of cases read easily.
private func outcome(_ text: String, limits: ParserLimits = ParserLimits()) -> String {
    let bytes = Array(text.utf8)
    return bytes.withUnsafeBytes { describe(RequestParser(limits: limits).parse($0)) }
}

private func describe(_ result: ParseResult) -> String {
    switch result {
    case .request(let r, let consumed):
        var parts = ["\(r.command.name)"]
        if !r.key.isEmpty { parts.append("key=\(String(decoding: r.key, as: UTF8.self))") }
        if r.command.hasDataBlock {
            parts.append("flags=\(r.flags) exp=\(r.exptime) value=\(String(decoding: r.value, as: UTF8.self))")
        }
        if r.casUnique != 0 { parts.append("cas=\(r.casUnique)") }
        if r.version != 0 { parts.append("version=\(r.version)") }
        if r.delta != 0 { parts.append("delta=\(r.delta)") }
        if r.number != 0 { parts.append("number=\(r.number)") }
        if r.noreply { parts.append("noreply") }
        if r.replication != .configured { parts.append("\(r.replication)") }
        parts.append("consumed=\(consumed)")
        return parts.joined(separator: " ")
    case .needMore(let atLeast):
        return "needMore \(atLeast)"
    case .invalid(let error, let consumed, let swallow, let silent, let close):
        return "\(error) consumed=\(consumed) swallow=\(swallow)\(silent ? " silent" : "")\(close ? " close" : "")"
    case .tooLarge(let key, let consumed, let swallow, let silent):
        return "tooLarge key=\(String(decoding: key, as: UTF8.self)) consumed=\(consumed) swallow=\(swallow)\(silent ? " silent" : "")"
    }
}

final class RequestParserTests: XCTestCase {
    func testStorageCommands() {
        XCTAssertEqual(outcome("set k 5 10 3\r\nabc\r\n"), "set key=k flags=5 exp=10 value=abc consumed=19")
        XCTAssertEqual(outcome("add k 0 0 1 noreply\r\nx\r\n"), "add key=k flags=0 exp=0 value=x noreply consumed=24")
        XCTAssertEqual(outcome("cas k 1 2 1 77\r\nx\r\n"), "cas key=k flags=1 exp=2 value=x cas=77 consumed=19")
        XCTAssertEqual(outcome("set k 0 0 1 9 sync\r\nx\r\n"), "set key=k flags=0 exp=0 value=x version=9 sync consumed=23")
        XCTAssertEqual(outcome("set k 0 -1 1\r\nx\r\n"), "set key=k flags=0 exp=-1 value=x consumed=17")
        XCTAssertEqual(outcome("set k 4294967295 0 0\r\n\r\n"), "set key=k flags=4294967295 exp=0 value= consumed=24")
    }

    func testIncompleteInputAsksForTheWholeDataBlock() {
        XCTAssertEqual(outcome("set k 0 0 10\r\nabc"), "needMore 26")
        XCTAssertEqual(outcome("set k 0 0"), "needMore 0")
        XCTAssertEqual(outcome(""), "needMore 0")
    }

    func testMalformedStorageLinesSkipTheirDataBlock() {
        // The length is readable, so the data block is discarded instead of run as a command.
        XCTAssertEqual(outcome("set k abc 0 1\r\nx\r\n"), "badFormat consumed=15 swallow=3")
        XCTAssertEqual(outcome("set k 4294967296 0 1\r\nx\r\n"), "badFormat consumed=22 swallow=3")
        XCTAssertEqual(outcome("cas k 0 0 1\r\nx\r\n"), "unknownCommand consumed=13 swallow=3")
        XCTAssertEqual(outcome("set k 0 0 1 bogus\r\nx\r\n"), "badFormat consumed=19 swallow=3")
        // Without a usable length nothing can be skipped.
        XCTAssertEqual(outcome("set k 0 0 -1\r\n"), "badFormat consumed=14 swallow=0")
        XCTAssertEqual(outcome("set k 0 0 99999999999999999999\r\n"), "badFormat consumed=32 swallow=0")
        XCTAssertEqual(outcome("set\r\n"), "unknownCommand consumed=5 swallow=0")
    }

    func testValueLimitAndBadChunk() {
        let limits = ParserLimits(maxKeyLength: 10, maxValueSize: 4, maxLineLength: 64)
        XCTAssertEqual(outcome("set k 0 0 5\r\n", limits: limits), "tooLarge key=k consumed=13 swallow=7")
        XCTAssertEqual(outcome("set k 0 0 5 noreply\r\n", limits: limits), "tooLarge key=k consumed=21 swallow=7 silent")
        XCTAssertEqual(outcome("set k 0 0 3\r\nabcd\r\n"), "badDataChunk consumed=18 swallow=0")
        XCTAssertEqual(outcome("set k 0 0 3 noreply\r\nabcXY"), "badDataChunk consumed=26 swallow=0 silent")
        XCTAssertEqual(outcome("set kkkkkkkkkkk 0 0 1\r\nx\r\n", limits: limits), "badFormat consumed=23 swallow=3")
        XCTAssertEqual(outcome(String(repeating: "x", count: 64), limits: limits), "lineTooLong consumed=64 swallow=0 close")
    }

    func testKeysMustBeFreeOfControlCharacters() {
        XCTAssertEqual(outcome("get a\u{01}b\r\n"), "badFormat consumed=9 swallow=0")
        XCTAssertEqual(outcome("delete a\u{7F}\r\n"), "badDeleteFormat consumed=11 swallow=0")
    }

    func testRetrievalAndOtherCommands() {
        XCTAssertEqual(outcome("get a b c\r\n"), "get key=a consumed=11")
        XCTAssertEqual(outcome("get\r\n"), "unknownCommand consumed=5 swallow=0")
        XCTAssertEqual(outcome("gat 100 a b\r\n"), "gat key=a consumed=13")
        XCTAssertEqual(outcome("gat x a\r\n"), "invalidExptime consumed=9 swallow=0")
        XCTAssertEqual(outcome("gat\r\n"), "unknownCommand consumed=5 swallow=0")
        XCTAssertEqual(outcome("gat 100\r\n"), "gat consumed=9")
        XCTAssertEqual(outcome("touch k\r\n"), "unknownCommand consumed=9 swallow=0")
        XCTAssertEqual(outcome("delete\r\n"), "unknownCommand consumed=8 swallow=0")
        XCTAssertEqual(outcome("set k 0 0\r\n"), "unknownCommand consumed=11 swallow=0")
        XCTAssertEqual(outcome("delete k 10 5 noreply\r\n"), "delete key=k version=5 number=10 noreply consumed=23")
        XCTAssertEqual(outcome("delete k foo\r\n"), "badDeleteFormat consumed=14 swallow=0")
        XCTAssertEqual(outcome("incr k 18446744073709551615\r\n"), "incr key=k delta=18446744073709551615 consumed=29")
        XCTAssertEqual(outcome("incr k -1\r\n"), "invalidDelta consumed=11 swallow=0")
        XCTAssertEqual(outcome("incr k\r\n"), "unknownCommand consumed=8 swallow=0")
        XCTAssertEqual(outcome("touch k abc\r\n"), "invalidExptime consumed=13 swallow=0")
        XCTAssertEqual(outcome("touch k 10 sync\r\n"), "badFormat consumed=17 swallow=0")
        XCTAssertEqual(outcome("flush_all 10 noreply\r\n"), "flush_all number=10 noreply consumed=22")
        XCTAssertEqual(outcome("flush_all foo\r\n"), "invalidExptime consumed=15 swallow=0")
        XCTAssertEqual(outcome("verbosity\r\n"), "unknownCommand consumed=11 swallow=0")
        XCTAssertEqual(outcome("GET a\r\n"), "unknownCommand consumed=7 swallow=0")
        XCTAssertEqual(outcome("\r\n"), "unknownCommand consumed=2 swallow=0")
        XCTAssertEqual(outcome("get\ta\r\n"), "unknownCommand consumed=7 swallow=0")
    }

    func testLineEndingsAndSpaces() {
        XCTAssertEqual(outcome("get a\n"), "get key=a consumed=6")
        XCTAssertEqual(outcome("  get   a  \r\n"), "get key=a consumed=13")
        var nodeParser = RequestParser()
        nodeParser.refusesBinary = false
        let later: [UInt8] = [0x80, 0x0A]
        XCTAssertTrue(later.withUnsafeBytes { describe(nodeParser.parse($0)) }.hasPrefix("unknownCommand"),
                      "a node's text connection reads 0x80 as text")
        XCTAssertEqual(Array("incr n 1 withcas\r\n".utf8).withUnsafeBytes {
            guard case .request(let request, _) = RequestParser().parse($0) else { return false }
            return request.returnsVersion
        }, true, "withcas: between nodes, the reply names the new version")
        let binary: [UInt8] = [0x80, 0x01, 0x00]
        XCTAssertEqual(binary.withUnsafeBytes { describe(RequestParser().parse($0)) }, "binaryProtocol consumed=3 swallow=0 close")
    }

    func testMultiGetKeysAreIteratedInOrder() {
        let bytes = Array("gets a bb a ccc\r\n".utf8)
        bytes.withUnsafeBytes { buffer in
            guard case .request(let request, _) = RequestParser().parse(buffer) else { return XCTFail("not parsed") }
            var keys = request.keys
            var seen: [String] = []
            while let key = keys.next() { seen.append(String(decoding: key, as: UTF8.self)) }
            XCTAssertEqual(seen, ["a", "bb", "a", "ccc"])
        }
    }

    /// Feeding a pipeline one byte at a time must give the same requests as feeding it whole.
    func testEveryByteSplitGivesTheSameRequests() {
        let pipeline = "set a 1 0 3\r\nabc\r\nget a b\r\nincr n 5 noreply\r\ncas a 0 0 2 7\r\nxy\r\n" +
            "delete a 0\r\nbogus\r\nset b 0 0 3\r\nabcd\r\ntouch a 5\r\nversion\r\n"
        let whole = parseAll(Array(pipeline.utf8), chunk: Int.max)
        XCTAssertEqual(whole.count, 10)
        for chunk in 1...7 {
            XCTAssertEqual(parseAll(Array(pipeline.utf8), chunk: chunk), whole, "chunk size \(chunk)")
        }
    }

    /// Simulates a connection: bytes arrive `chunk` at a time, the parser consumes what it can.
    private func parseAll(_ bytes: [UInt8], chunk: Int) -> [String] {
        var results: [String] = []
        var buffer: [UInt8] = []
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + chunk)
            buffer.append(contentsOf: bytes[offset..<end])
            offset = end
            while !buffer.isEmpty {
                let result = buffer.withUnsafeBytes { RequestParser().parse($0) }
                let consumed: Int
                switch result {
                case .needMore: consumed = 0
                case .request(_, let c): consumed = c
                case .invalid(_, let c, _, _, _): consumed = c
                case .tooLarge(_, let c, _, _): consumed = c
                }
                if consumed == 0 { break }
                results.append(buffer.withUnsafeBytes { describe(RequestParser().parse($0)) })
                buffer.removeFirst(consumed)
            }
        }
        return results
    }
}
