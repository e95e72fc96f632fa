import FlareProtocol
import XCTest

/// Parses `text` as one complete request and runs `body` with it while the bytes it points into
/// are alive (a `Request` only borrows its input).
func withParsedRequest<T>(_ text: String, file: StaticString = #filePath, line: UInt = #line,
                          _ body: (Request) throws -> T) rethrows -> T? {
    let bytes = Array(text.utf8)
    return try bytes.withUnsafeBytes { input -> T? in
        guard case .request(let request, let consumed) = RequestParser().parse(input) else {
            XCTFail("not a complete request: \(text.debugDescription)", file: file, line: line)
            return nil
        }
        XCTAssertEqual(consumed, bytes.count, "request leaves bytes unparsed", file: file, line: line)
        return try body(request)
    }
}

/// The bytes pending in `buffer`, as text (test data is ASCII).
func text(of buffer: ReplyBuffer) -> String {
    String(decoding: buffer.pending, as: UTF8.self)
}
