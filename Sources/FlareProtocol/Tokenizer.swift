/// Walks the space-separated words of one request line in place.
///
/// Only 0x20 separates words, as in memcached and flare; runs of spaces are skipped.
public struct Tokenizer {
    public let line: UnsafeRawBufferPointer
    public private(set) var position: Int

    public init(_ line: UnsafeRawBufferPointer, from position: Int = 0) {
        self.line = line
        self.position = position
    }

    /// The next word, or nil at the end of the line.
    @inline(__always)
    public mutating func next() -> UnsafeRawBufferPointer? {
        let end = line.count
        var i = position
        while i < end && line[i] == 0x20 { i += 1 }
        guard i < end else { position = end; return nil }
        let start = i
        while i < end && line[i] != 0x20 { i += 1 }
        position = i
        return UnsafeRawBufferPointer(rebasing: line[start..<i])
    }

    /// True when only spaces remain.
    public var isAtEnd: Bool {
        var i = position
        while i < line.count && line[i] == 0x20 { i += 1 }
        return i == line.count
    }

    /// The next word without advancing.
    public func peek() -> UnsafeRawBufferPointer? {
        var copy = self
        return copy.next()
    }
}

/// Strict decimal parsing of protocol numbers: digits only (an optional leading `-` where allowed),
/// no overflow. Anything else is a malformed request.
public enum Decimal {
    @inline(__always)
    public static func uint64(_ word: UnsafeRawBufferPointer) -> UInt64? {
        guard !word.isEmpty, word.count <= 20 else { return nil }
        var value: UInt64 = 0
        for byte in word {
            let digit = byte &- 48
            guard digit < 10 else { return nil }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(digit))
            if o1 || o2 { return nil }
            value = sum
        }
        return value
    }

    @inline(__always)
    public static func uint32(_ word: UnsafeRawBufferPointer) -> UInt32? {
        guard let v = uint64(word), v <= UInt64(UInt32.max) else { return nil }
        return UInt32(v)
    }

    /// A C `int` (−2³¹ … 2³¹−1): memcached and flare read exptimes, delays and most admin
    /// arguments into one, so a larger number is out of range rather than silently truncated.
    @inline(__always)
    public static func int32(_ word: UnsafeRawBufferPointer) -> Int64? {
        guard let v = int64(word), v >= Int64(Int32.min), v <= Int64(Int32.max) else { return nil }
        return v
    }

    /// An item version or map version: at most 2⁶³−1, so the node's version clock (which
    /// observes every version it is given) can never be pushed to the edge of its 64 bits.
    @inline(__always)
    public static func version(_ word: UnsafeRawBufferPointer) -> UInt64? {
        guard let v = uint64(word), v <= UInt64(Int64.max) else { return nil }
        return v
    }

    /// A signed 64-bit value; memcached accepts negative exptimes (meaning "already expired").
    @inline(__always)
    public static func int64(_ word: UnsafeRawBufferPointer) -> Int64? {
        guard let first = word.first else { return nil }
        if first == UInt8(ascii: "-") {
            guard let magnitude = uint64(UnsafeRawBufferPointer(rebasing: word.dropFirst())),
                  magnitude <= UInt64(Int64.max) else { return nil }
            return -Int64(magnitude)
        }
        guard let v = uint64(word), v <= UInt64(Int64.max) else { return nil }
        return Int64(v)
    }
}
