/// Standard base64 (RFC 4648, with `=` padding) for the meta commands' `b` flag, in place.
public enum Base64 {
    /// The 6-bit value of one alphabet byte; nil for anything else.
    @inline(__always)
    static func sextet(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): byte - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): byte - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }

    /// The decoded length of well-formed input, or nil.
    public static func decodedLength(_ text: UnsafeRawBufferPointer) -> Int? {
        guard !text.isEmpty, text.count % 4 == 0 else { return nil }
        var padding = 0
        if text[text.count - 1] == UInt8(ascii: "=") { padding += 1 }
        if text[text.count - 2] == UInt8(ascii: "=") { padding += 1 }
        for (index, byte) in text.enumerated() where sextet(byte) == nil {
            guard byte == UInt8(ascii: "="), index >= text.count - padding else { return nil }
        }
        return text.count / 4 * 3 - padding
    }

    public static func isValid(_ text: UnsafeRawBufferPointer) -> Bool { decodedLength(text) != nil }

    /// Decodes into `out` (at least `decodedLength` bytes); returns the length, or nil if malformed.
    public static func decode(_ text: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Int? {
        guard let length = decodedLength(text), length <= out.count else { return nil }
        var written = 0
        var index = 0
        while index < text.count {
            var group: UInt32 = 0
            for offset in 0..<4 {
                group = group << 6 | UInt32(sextet(text[index + offset]) ?? 0)
            }
            var shift: UInt32 = 24
            while shift > 0 && written < length {
                shift -= 8
                out[written] = UInt8(truncatingIfNeeded: group >> shift)
                written += 1
            }
            index += 4
        }
        return written
    }
}
