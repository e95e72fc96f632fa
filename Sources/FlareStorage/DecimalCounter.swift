/// The number stored in an item for incr/decr, with memcached 1.6's rules
/// (`safe_strtoull`): optional leading whitespace and '+', at least one digit,
/// a value that fits in 64 bits, then the end of the data or whitespace.
/// Pure functions: any thread.
public enum DecimalCounter {
    /// The longest decimal UInt64 ("18446744073709551615").
    public static let maxDigits = 20

    static func parse(_ text: UnsafeRawBufferPointer) -> UInt64? {
        var i = 0
        while i < text.count, isSpace(text[i]) { i += 1 }
        if i < text.count, text[i] == UInt8(ascii: "+") { i += 1 }
        let digitsStart = i
        var value: UInt64 = 0
        while i < text.count, text[i] >= UInt8(ascii: "0"), text[i] <= UInt8(ascii: "9") {
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(text[i] - UInt8(ascii: "0")))
            if overflow1 || overflow2 { return nil }
            value = sum
            i += 1
        }
        if i == digitsStart { return nil }
        if i < text.count, !isSpace(text[i]) { return nil }
        return value
    }

    /// Writes `value` in decimal at the end of `buffer` (which holds `maxDigits`
    /// bytes) and returns the offset of its first digit.
    public static func format(_ value: UInt64, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        var rest = value
        var start = buffer.count
        repeat {
            start -= 1
            buffer[start] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
        } while rest > 0
        return start
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (byte >= 0x09 && byte <= 0x0d)
    }

    /// The number of decimal digits of `value`.
    public static func digits(_ value: UInt64) -> Int {
        var count = 1
        var rest = value
        while rest >= 10 { rest /= 10; count += 1 }
        return count
    }
}
