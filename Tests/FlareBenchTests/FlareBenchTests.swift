import XCTest
@testable import flare_bench

final class ReplyParserTests: XCTestCase {
    /// Feeds `stream` to a parser in chunks cut at `cuts`, the way reads would deliver it,
    /// keeping unparsed bytes like the worker does.
    private func parse(_ stream: String, cuts: [Int]) -> [Reply] {
        let bytes = Array(stream.utf8)
        var parser = ReplyParser()
        var replies: [Reply] = []
        var buffer: [UInt8] = []
        var from = 0
        for cut in cuts + [bytes.count] where cut >= from {
            buffer += bytes[from..<cut]
            from = cut
            var start = 0
            buffer.withUnsafeBufferPointer { buf in
                while let r = parser.next(buf.baseAddress!, &start, buf.count) { replies.append(r) }
            }
            buffer.removeFirst(start)
        }
        return replies
    }

    let mixed = "VALUE key:1 0 5\r\nhello\r\nEND\r\nSTORED\r\nEND\r\n"
        + "VALUE key:2 7 3 99\r\nEND\r\nVALUE key:3 0 0\r\n\r\nEND\r\n"
        + "SERVER_ERROR out of memory storing object\r\nCLIENT_ERROR bad data chunk\r\nERROR\r\nNOT_STORED\r\n"

    let expected: [Reply] = [.end(values: 1), .stored, .end(values: 0), .end(values: 2),
                             .serverError, .clientError, .error, .unexpected]

    func testManyRepliesInOneRead() {
        XCTAssertEqual(parse(mixed, cuts: []), expected)
    }

    func testRepliesSplitAtEveryByte() {
        let n = mixed.utf8.count
        for cut in 0...n { XCTAssertEqual(parse(mixed, cuts: [cut]), expected, "cut at \(cut)") }
        XCTAssertEqual(parse(mixed, cuts: Array(0...n)), expected, "one byte per read")
    }

    func testValueDataThatLooksLikeAReplyIsSkipped() {
        XCTAssertEqual(parse("VALUE k 0 5\r\nEND\r\n\r\nEND\r\n", cuts: [14]), [.end(values: 1)])
    }

    func testMalformedValueLine() {
        XCTAssertEqual(parse("VALUE k 0 x\r\n", cuts: []), [.malformed])
    }

    func testIncompleteReplyWaits() {
        XCTAssertEqual(parse("VALUE k 0 5\r\nhel", cuts: []), [])
        XCTAssertEqual(parse("STORED", cuts: []), [])
    }
}

final class HistogramTests: XCTestCase {
    func testBucketsAreContiguousAndBoundsHoldTheirValues() {
        var previousUpper: UInt64 = 0
        for i in 1..<Histogram.bucketCount {
            let upper = Histogram.upperBound(i)
            XCTAssertGreaterThan(upper, previousUpper)
            XCTAssertEqual(Histogram.index(upper), i)
            XCTAssertEqual(Histogram.index(previousUpper + 1), i)
            previousUpper = upper
        }
        XCTAssertEqual(previousUpper, UInt64.max)
    }

    func testRelativeErrorIsSmall() {
        for v: UInt64 in [1, 63, 64, 65, 1000, 123_456, 98_765_432, 1 << 40] {
            let up = Histogram.upperBound(Histogram.index(v))
            XCTAssertGreaterThanOrEqual(up, v)
            XCTAssertLessThanOrEqual(Double(up - v), Double(v) / 64 + 1)
        }
    }

    func testPercentilesAndMerge() {
        let a = Histogram(), b = Histogram()
        for v in 1...1000 { a.record(UInt64(v) * 1000) }
        b.record(5_000_000)
        a.merge(b)
        XCTAssertEqual(a.total, 1001)
        XCTAssertEqual(a.max, 5_000_000)
        let p50 = Double(a.percentile(0.5))
        XCTAssertEqual(p50, 501_000, accuracy: 501_000 / 64)
        XCTAssertEqual(Double(a.percentile(0.99)), 991_000, accuracy: 991_000 / 64)
        XCTAssertEqual(a.percentile(1), 5_000_000)
        XCTAssertEqual(Histogram().percentile(0.5), 0)
    }
}

final class RequestTests: XCTestCase {
    func testFormatting() {
        let t = RequestTemplates(keyPrefix: "key:", valueSize: 5, multiget: 3)
        let buf = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
        defer { buf.deallocate() }
        let n = t.putSet(buf, key: 1234)
        XCTAssertEqual(String(decoding: UnsafeBufferPointer(start: buf, count: n), as: UTF8.self),
                       "set key:1234 0 0 5\r\nabcde\r\n")
        XCTAssertLessThanOrEqual(n, t.maxSetLength)
        XCTAssertEqual(t.putSet(buf, key: 0), "set key:0 0 0 5\r\nabcde\r\n".utf8.count)

        var rng = XorShift(seed: 7)
        let g = t.putGet(buf, keys: &rng, keySpace: 10)
        let line = String(decoding: UnsafeBufferPointer(start: buf, count: g), as: UTF8.self)
        XCTAssertLessThanOrEqual(g, t.maxGetLength)
        XCTAssertTrue(line.hasPrefix("get key:") && line.hasSuffix("\r\n"), line)
        let keys = line.dropFirst(4).dropLast().split(separator: " ")   // "\r\n" is one Character
        XCTAssertEqual(keys.count, 3)
        for k in keys {
            XCTAssertTrue(k.hasPrefix("key:"), String(k))
            XCTAssertTrue(Int(k.dropFirst(4)).map { (0..<10).contains($0) } ?? false, String(k))
        }
    }

    func testRandomKeysCoverTheKeySpace() {
        var rng = XorShift(seed: 1)
        var seen = Set<Int>()
        for _ in 0..<10_000 {
            let k = rng.below(100)
            XCTAssertTrue((0..<100).contains(k))
            seen.insert(k)
        }
        XCTAssertEqual(seen.count, 100)
    }

    func testFixed() {
        XCTAssertEqual(fixed(1234.5678, 2), "1234.57")
        XCTAssertEqual(fixed(0.05, 1), "0.1")
        XCTAssertEqual(fixed(7, 0), "7")
        XCTAssertEqual(fixed(0.001, 3), "0.001")
    }
}
