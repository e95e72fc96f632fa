/// The key hash algorithms flare partitions with (cluster-behaviour.md §1). All return the
/// server's value after its sign fix-up (negative results negated; −2³¹ stays).
public enum KeyHashAlgorithm: String, Sendable, CaseIterable {
    case simple
    case crc32
    case jenkins

    public func hash(_ key: [UInt8]) -> Int32 {
        let raw: UInt32
        switch self {
        case .simple:
            // Sum of the bytes taken as signed chars, wrapping like a C int.
            raw = key.reduce(UInt32(0)) { $0 &+ UInt32(bitPattern: Int32(Int8(bitPattern: $1))) }
        case .crc32:
            raw = CRC32.checksum(key)
        case .jenkins:
            raw = JenkinsHash.hashLittle(key, initialValue: 13)
        }
        let value = Int32(bitPattern: raw)
        return value < 0 && value != Int32.min ? -value : value
    }
}

/// zlib's CRC-32 (reflected polynomial 0xEDB88320).
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 != 0 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}

/// Bob Jenkins' lookup3 `hashlittle`, byte-wise form (same result as the aligned fast paths).
enum JenkinsHash {
    static func hashLittle(_ key: [UInt8], initialValue: UInt32) -> UInt32 {
        var a = 0xDEAD_BEEF &+ UInt32(truncatingIfNeeded: key.count) &+ initialValue
        var b = a, c = a
        var offset = 0, length = key.count
        func word(_ at: Int, _ count: Int) -> UInt32 {
            var value: UInt32 = 0
            for index in 0..<count { value |= UInt32(key[at + index]) << (8 * UInt32(index)) }
            return value
        }
        while length > 12 {
            a = a &+ word(offset, 4)
            b = b &+ word(offset + 4, 4)
            c = c &+ word(offset + 8, 4)
            mix(&a, &b, &c)
            offset += 12
            length -= 12
        }
        if length == 0 { return c }
        a = a &+ word(offset, min(length, 4))
        if length > 4 { b = b &+ word(offset + 4, min(length - 4, 4)) }
        if length > 8 { c = c &+ word(offset + 8, length - 8) }
        final(&a, &b, &c)
        return c
    }

    private static func rotate(_ value: UInt32, _ bits: UInt32) -> UInt32 {
        (value << bits) | (value >> (32 - bits))
    }

    private static func mix(_ a: inout UInt32, _ b: inout UInt32, _ c: inout UInt32) {
        a = a &- c; a ^= rotate(c, 4); c = c &+ b
        b = b &- a; b ^= rotate(a, 6); a = a &+ c
        c = c &- b; c ^= rotate(b, 8); b = b &+ a
        a = a &- c; a ^= rotate(c, 16); c = c &+ b
        b = b &- a; b ^= rotate(a, 19); a = a &+ c
        c = c &- b; c ^= rotate(b, 4); b = b &+ a
    }

    private static func final(_ a: inout UInt32, _ b: inout UInt32, _ c: inout UInt32) {
        c ^= b; c = c &- rotate(b, 14)
        a ^= c; a = a &- rotate(c, 11)
        b ^= a; b = b &- rotate(a, 25)
        c ^= b; c = c &- rotate(b, 16)
        a ^= c; a = a &- rotate(c, 4)
        b ^= a; b = b &- rotate(a, 14)
        c ^= b; c = c &- rotate(b, 24)
    }
}
