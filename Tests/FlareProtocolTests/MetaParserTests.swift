import FlareProtocol
import XCTest

/// The meta commands' parsing: flags, tokens, and how much of a refused `ms` is skipped.
final class MetaParserTests: XCTestCase {
    private func parse(_ text: String, _ body: (ParseResult) -> Void) {
        Array(text.utf8).withUnsafeBytes { body(RequestParser().parse($0)) }
    }

    func testMetaSetCarriesItsDataBlock() {
        parse("ms k 13 T30 F7 MA C9 q\r\ndelete victim\r\nget x\r\n") { result in
            guard case .request(let r, let consumed) = result else { return XCTFail("\(result)") }
            XCTAssertEqual(r.command, .ms)
            XCTAssertEqual(String(decoding: r.key, as: UTF8.self), "k")
            XCTAssertEqual(String(decoding: r.value, as: UTF8.self), "delete victim")
            XCTAssertEqual(consumed, 39)
            XCTAssertEqual(r.meta.ttl, 30)
            XCTAssertEqual(r.meta.clientFlags, 7)
            XCTAssertEqual(r.meta.mode, UInt8(ascii: "A"))
            XCTAssertEqual(r.meta.compareCas, 9)
            XCTAssertTrue(r.meta.has("q"))
            XCTAssertFalse(r.meta.has("v"))
        }
        parse("ms k 13\r\ndelete") { result in
            guard case .needMore(let atLeast) = result else { return XCTFail("\(result)") }
            XCTAssertEqual(atLeast, 24)
        }
    }

    func testRefusedMetaSetSkipsItsBlockOnlyWhenTheLengthIsKnown() {
        parse("ms k 3 x\r\nabc\r\n") { result in
            guard case .invalid(let error, let consumed, let swallow, _, _) = result else { return XCTFail("\(result)") }
            XCTAssertEqual(error, .meta(.invalidFlag))
            XCTAssertEqual(consumed, 10)
            XCTAssertEqual(swallow, 5)
        }
        parse("ms k abc\r\nabc\r\n") { result in
            guard case .invalid(let error, _, let swallow, _, _) = result else { return XCTFail("\(result)") }
            XCTAssertEqual(error, .meta(.badFormat))
            XCTAssertEqual(swallow, 0)
        }
        parse("ms k 3\r\nabcd\r\n") { result in
            guard case .invalid(let error, let consumed, _, _, _) = result else { return XCTFail("\(result)") }
            XCTAssertEqual(error, .badDataChunk)
            XCTAssertEqual(consumed, 13)
        }
    }

    func testFlagErrors() {
        let cases: [(String, ProtocolError)] = [
            ("mg k v v\r\n", .meta(.duplicateFlag)), ("mg k x\r\n", .meta(.invalidFlag)), ("mg k Tx\r\n", .meta(.badToken)),
            ("md k x\r\n", .meta(.invalidOrDuplicateFlag)), ("ma k Mx\r\n", .meta(.invalidArithmeticMode)),
            ("mg k O\(String(repeating: "o", count: 32))\r\n", .meta(.opaqueTooLong)), ("mg k= b\r\n", .meta(.keyDecoding)),
            ("mg\r\n", .unknownCommand), ("me\r\n", .meta(.badFormat)),
        ]
        for (text, expected) in cases {
            parse(text) { result in
                guard case .invalid(let error, _, _, _, _) = result else { return XCTFail("\(text): \(result)") }
                XCTAssertEqual(error, expected, text)
            }
        }
    }

    func testBase64() {
        func decode(_ text: String) -> String? {
            var out = [UInt8](repeating: 0, count: 64)
            return Array(text.utf8).withUnsafeBytes { input in
                out.withUnsafeMutableBytes { buffer in
                    Base64.decode(input, into: buffer).map { String(decoding: buffer[0..<$0], as: UTF8.self) }
                }
            }
        }
        XCTAssertEqual(decode("Zm9v"), "foo")
        XCTAssertEqual(decode("Zm9vYg=="), "foob")
        XCTAssertEqual(decode("Zm9vYmE="), "fooba")
        XCTAssertNil(decode("Zm9"))
        XCTAssertNil(decode("Zm=v"))
        XCTAssertNil(decode("Zm9!"))
    }
}
