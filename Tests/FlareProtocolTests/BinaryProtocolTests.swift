import FlareProtocol
import XCTest

/// The binary protocol's framing, request checks, response encoding and the reading of text replies.
final class BinaryProtocolTests: XCTestCase {
    /// A request packet: header, extras, key, value; `bodyLength` overrides the real one.
    private func packet(_ opcode: UInt8, key: [UInt8] = [], extras: [UInt8] = [], value: [UInt8] = [],
                        opaque: UInt32 = 0xDEADBEEF, cas: UInt64 = 0, magic: UInt8 = 0x80,
                        bodyLength: UInt32? = nil) -> [UInt8] {
        var bytes: [UInt8] = [magic, opcode, UInt8(key.count >> 8), UInt8(key.count & 0xFF), UInt8(extras.count), 0, 0, 0]
        let body = bodyLength ?? UInt32(extras.count + key.count + value.count)
        bytes += withUnsafeBytes(of: body.bigEndian, Array.init)
        bytes += withUnsafeBytes(of: opaque.bigEndian, Array.init)
        bytes += withUnsafeBytes(of: cas.bigEndian, Array.init)
        return bytes + extras + key + value
    }

    private func be<T: FixedWidthInteger>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value.bigEndian, Array.init) }

    private let parser = BinaryRequestParser(limits: ParserLimits(maxKeyLength: 250, maxValueSize: 1024, maxLineLength: 65536))

    private func parse(_ bytes: [UInt8]) -> BinaryParseResult {
        bytes.withUnsafeBytes { parser.parse($0) }
    }

    func testSetRequestIsSlicedInPlace() {
        let bytes = packet(0x11, key: Array("k".utf8), extras: be(UInt32(7)) + be(UInt32(60)), value: Array("hello".utf8), cas: 42)
        bytes.withUnsafeBytes { input in
            guard case .request(let request, let consumed) = parser.parse(input) else { return XCTFail("\(parser.parse(input))") }
            XCTAssertEqual(consumed, bytes.count)
            XCTAssertEqual(request.command, .set)
            XCTAssertTrue(request.quiet, "0x11 is setq")
            XCTAssertEqual(request.flags, 7)
            XCTAssertEqual(request.expiration, 60)
            XCTAssertEqual(Array(request.key), Array("k".utf8))
            XCTAssertEqual(Array(request.value), Array("hello".utf8))
            XCTAssertEqual(request.header.cas, 42)
            XCTAssertEqual(request.value.baseAddress, input.baseAddress! + 24 + 8 + 1, "no copy")
        }
    }

    func testIncrementExtras() {
        let bytes = packet(0x05, key: Array("n".utf8), extras: be(UInt64(5)) + be(UInt64(10)) + be(UInt32.max))
        guard case .request(let request, _) = parse(bytes) else { return XCTFail() }
        XCTAssertEqual(request.delta, 5)
        XCTAssertEqual(request.initial, 10)
        XCTAssertEqual(request.expiration, BinaryProtocol.noCreateExpiration)
    }

    func testIncompleteInputAsksForTheWholePacket() {
        let bytes = packet(0x00, key: Array("key".utf8))
        for cut in [0, 1, 23] {
            guard case .needMore(let atLeast) = parse(Array(bytes[..<cut])) else { return XCTFail("cut \(cut)") }
            XCTAssertEqual(atLeast, 24)
        }
        guard case .needMore(let atLeast) = parse(Array(bytes[..<25])) else { return XCTFail() }
        XCTAssertEqual(atLeast, bytes.count)
    }

    func testWrongMagicIsNotARequest() {
        guard case .badMagic = parse(packet(0x0A, magic: 0x81)) else { return XCTFail() }
        guard case .badMagic = parse([UInt8(ascii: "g")]) else { return XCTFail("decided on the first byte") }
    }

    func testKeyAndExtrasBeyondTheBodyCloseWithUnknownCommand() {
        guard case .refused(_, let status, _, _, let close) = parse(packet(0x00, key: Array("abcdef".utf8), bodyLength: 3)) else { return XCTFail() }
        XCTAssertEqual(status, .unknownCommand)
        XCTAssertTrue(close)
    }

    func testWrongShapesAreInvalidArgumentsAndClose() {
        let cases: [(String, [UInt8])] = [
            ("get with extras", packet(0x00, key: [0x6B], extras: [0, 0, 0, 0])),
            ("get without key", packet(0x00)),
            ("set without extras", packet(0x01, key: [0x6B], value: [1])),
            ("delete with value", packet(0x04, key: [0x6B], value: [1])),
            ("incr with short extras", packet(0x05, key: [0x6B], extras: [UInt8](repeating: 0, count: 8))),
            ("touch without extras", packet(0x1C, key: [0x6B])),
            ("noop with body", packet(0x0A, value: [1])),
            ("version with key", packet(0x0B, key: [0x6B])),
            ("flush with 3 bytes of extras", packet(0x08, extras: [0, 0, 0])),
            ("key over the limit", packet(0x00, key: [UInt8](repeating: 0x6B, count: 251))),
        ]
        for (name, bytes) in cases {
            guard case .refused(let header, let status, _, let swallow, let close) = parse(bytes) else { XCTFail(name); continue }
            XCTAssertEqual(status, .invalidArguments, name)
            XCTAssertEqual(header.opaque, UInt32(0xDEADBEEF).bigEndian, name)
            XCTAssertTrue(close, name)
            XCTAssertEqual(swallow, 0, name)
        }
    }

    func testUnknownOpcodesAreAnsweredAndTheirBodySkipped() {
        for opcode: UInt8 in [0x1B, 0x20, 0x21, 0x40, 0xFF] {  // verbosity, SASL, unassigned
            let bytes = packet(opcode, key: Array("PLAIN".utf8), value: Array("secret".utf8))
            guard case .refused(_, let status, let consumed, let swallow, let close) = parse(Array(bytes[..<30])) else { XCTFail(); continue }
            XCTAssertEqual(status, .unknownCommand)
            XCTAssertFalse(close)
            XCTAssertEqual(consumed, 30, "what is here is dropped now")
            XCTAssertEqual(swallow, bytes.count - 30, "the rest as it arrives")
        }
        let absurd = packet(0x40, bodyLength: UInt32.max)
        guard case .refused(_, .unknownCommand, _, 0, true) = parse(absurd) else { return XCTFail("an absurd body closes") }
    }

    func testValueOverTheLimitIsSkippedNotBuffered() {
        let header = packet(0x01, key: Array("big".utf8), extras: [UInt8](repeating: 0, count: 8),
                            bodyLength: UInt32(8 + 3 + 5000))
        guard case .tooLarge(_, let key, let consumed, let swallow) = parse(header + [1, 2]) else { return XCTFail() }
        XCTAssertEqual(Array(key), Array("big".utf8))
        XCTAssertEqual(consumed, header.count + 2)
        XCTAssertEqual(swallow, 5000 - 2)
        let hugeAppend = packet(0x0E, key: [0x6B], bodyLength: 0xFFFF_FFF0)
        guard case .tooLarge(_, _, _, let rest) = parse(hugeAppend) else { return XCTFail() }
        XCTAssertEqual(rest, 0xFFFF_FFF0 - 1)
    }

    /// Whatever the bytes, the parser never reads outside its input, never consumes more than it was
    /// given, and asks for at most one packet's worth within the limits.
    func testRandomInputIsAlwaysAnsweredWithinBounds() {
        var seed: UInt64 = 0xB1A7
        func next() -> UInt8 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: seed >> 56)
        }
        for round in 0..<20_000 {
            var bytes = (0..<Int(next()) % 80).map { _ in next() }
            if round % 2 == 0, !bytes.isEmpty { bytes[0] = 0x80 }
            bytes.withUnsafeBytes { input in
                switch parser.parse(input) {
                case .request(let request, let consumed):
                    XCTAssertLessThanOrEqual(consumed, input.count)
                    XCTAssertEqual(consumed, 24 + request.extras.count + request.key.count + request.value.count)
                case .needMore(let atLeast):
                    XCTAssertGreaterThan(atLeast, input.count)
                    XCTAssertLessThanOrEqual(atLeast, 24 + 255 + 250 + 1024, "never more than one packet within the limits")
                case .refused(_, _, let consumed, let swallow, _):
                    XCTAssertLessThanOrEqual(consumed, input.count)
                    XCTAssertGreaterThanOrEqual(swallow, 0)
                case .tooLarge(_, _, let consumed, let swallow):
                    XCTAssertLessThanOrEqual(consumed, input.count)
                    XCTAssertGreaterThan(swallow, 0)
                case .badMagic:
                    XCTAssertNotEqual(input.first, 0x80)
                }
            }
        }
    }

    func testQuietFormsShareTheirBaseCommand() {
        let pairs: [(UInt8, BinaryCommand, Bool)] = [
            (0x09, .get, true), (0x0D, .getk, true), (0x12, .add, true), (0x13, .replace, true), (0x14, .delete, true),
            (0x15, .increment, true), (0x16, .decrement, true), (0x17, .quit, true), (0x18, .flush, true),
            (0x19, .append, true), (0x1A, .prepend, true), (0x1E, .gat, true), (0x24, .gatk, true),
            (0x23, .gatk, false), (0x1C, .touch, false), (0x10, .stat, false),
        ]
        for (opcode, command, quiet) in pairs {
            let decoded = BinaryCommand.decode(BinaryOpcode(rawValue: opcode))
            XCTAssertEqual(decoded.0, command, "opcode \(opcode)")
            XCTAssertEqual(decoded.quiet, quiet, "opcode \(opcode)")
        }
    }

    func testResponsesAreMemcachedsBytes() throws {
        let request = packet(0x0C, key: Array("k1".utf8), opaque: 0x01020304)
        guard case .request(let get, _) = parse(request) else { return XCTFail() }
        let out = ReplyBuffer(capacity: 16)
        Array("k1".utf8).withUnsafeBytes { key in
            Array("hello".utf8).withUnsafeBytes { value in
                out.appendBinaryValue(get.header, flags: 5, key: key, value: value, cas: 0x1122)
            }
        }
        XCTAssertEqual(Array(out.pending),
                       [0x81, 0x0C, 0, 2, 4, 0, 0, 0, 0, 0, 0, 11, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0x11, 0x22,
                        0, 0, 0, 5] + Array("k1hello".utf8))
        out.removeAll()
        out.appendBinaryError(get.header, .keyNotFound)
        XCTAssertEqual(Array(out.pending), [0x81, 0x0C, 0, 0, 0, 0, 0, 1, 0, 0, 0, 9, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0]
                       + Array("Not found".utf8))
        out.removeAll()
        out.appendBinaryCounter(get.header, value: 10, cas: 3)
        XCTAssertEqual(Array(out.pending[24...]), [0, 0, 0, 0, 0, 0, 0, 10])
        XCTAssertEqual(out.pending[11], 8, "body length")
    }

    private func line(_ text: String, _ command: BinaryCommand = .set) -> BinaryTextReply.Line {
        Array(text.utf8).withUnsafeBytes { BinaryTextReply.line($0, for: command) }
    }

    func testTextRepliesReadAsBinaryStatus() {
        XCTAssertEqual(line("STORED\r\n"), .success(cas: 0))
        XCTAssertEqual(line("STORED 1234\r\n"), .success(cas: 1234), "a forwarded write's withcas reply")
        XCTAssertEqual(line("41 1235\r\n", .increment), .number(41, cas: 1235))
        XCTAssertEqual(line("DELETED\r\n", .delete), .success(cas: 0))
        XCTAssertEqual(line("NOT_STORED\r\n", .add), .status(.keyExists))
        XCTAssertEqual(line("NOT_STORED\r\n", .replace), .status(.keyNotFound))
        XCTAssertEqual(line("NOT_STORED\r\n", .append), .status(.notStored))
        XCTAssertEqual(line("EXISTS\r\n"), .status(.keyExists))
        XCTAssertEqual(line("NOT_FOUND\r\n"), .status(.keyNotFound))
        XCTAssertEqual(line("18446744073709551615\r\n", .increment), .number(UInt64.max, cas: 0))
        XCTAssertEqual(line("CLIENT_ERROR cannot increment or decrement non-numeric value\r\n", .increment), .status(.nonNumeric))
        XCTAssertEqual(line("SERVER_ERROR proxy error\r\n"), .failure(.temporaryFailure, "proxy error"))
        XCTAssertEqual(line("SERVER_ERROR storage error\r\n"), .failure(.internalError, "storage error"))
        XCTAssertEqual(line("SERVER_ERROR replication to a:1 failed\r\n"), .failure(.internalError, "replication to a:1 failed"))
        XCTAssertEqual(line("ERROR\r\n"), .status(.unknownCommand))
        if case .failure(.internalError, _) = line("WHATEVER\r\n") {} else { XCTFail("unexpected replies are errors") }
    }

    func testValuesReplyReadAsHitMissOrError() {
        let hit = Array("VALUE k 7 5 99\r\nhello\r\nEND\r\n".utf8)
        hit.withUnsafeBytes { reply in
            guard case .hit(let flags, let cas, let range) = BinaryTextReply.values(reply) else { return XCTFail() }
            XCTAssertEqual(flags, 7)
            XCTAssertEqual(cas, 99)
            XCTAssertEqual(Array(reply[range]), Array("hello".utf8))
        }
        Array("END\r\n".utf8).withUnsafeBytes {
            guard case .miss = BinaryTextReply.values($0) else { return XCTFail() }
        }
        Array("SERVER_ERROR proxy error\r\n".utf8).withUnsafeBytes {
            guard case .failure(.temporaryFailure, "proxy error") = BinaryTextReply.values($0) else { return XCTFail() }
        }
        Array("VALUE k 7 500 99\r\nhello\r\nEND\r\n".utf8).withUnsafeBytes {
            guard case .failure(.internalError, _) = BinaryTextReply.values($0) else { return XCTFail("a length past the reply is refused") }
        }
    }
}
