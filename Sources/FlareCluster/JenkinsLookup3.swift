/// Bob Jenkins' lookup3 `hashlittle`, as libhashkit's `hashkit_jenkins` calls it.
///
/// Written byte-wise: lookup3 guarantees the word-at-a-time paths of the C code produce the
/// same value as its byte path on little-endian machines, which is what the original ran on.
enum JenkinsLookup3 {
    /// libhashkit's `JENKINS_INITVAL`.
    static let libhashkitInitialValue: UInt32 = 13

    @inline(__always)
    static func hashLittle(_ key: UnsafeRawBufferPointer, initialValue: UInt32) -> UInt32 {
        var remaining = key.count
        let start = 0xDEAD_BEEF &+ UInt32(truncatingIfNeeded: remaining) &+ initialValue
        var a = start, b = start, c = start

        var index = 0
        while remaining > 12 {
            a &+= word(key, index)
            b &+= word(key, index + 4)
            c &+= word(key, index + 8)
            mix(&a, &b, &c)
            index += 12
            remaining -= 12
        }

        // The last block (1…12 bytes) is added zero-padded; an empty key skips the final mix.
        guard remaining > 0 else { return c }
        a &+= partialWord(key, index, count: min(remaining, 4))
        if remaining > 4 { b &+= partialWord(key, index + 4, count: min(remaining - 4, 4)) }
        if remaining > 8 { c &+= partialWord(key, index + 8, count: remaining - 8) }
        final(&a, &b, &c)
        return c
    }

    @inline(__always)
    private static func word(_ key: UnsafeRawBufferPointer, _ index: Int) -> UInt32 {
        partialWord(key, index, count: 4)
    }

    /// Up to four bytes as a little-endian word, missing high bytes zero.
    @inline(__always)
    private static func partialWord(_ key: UnsafeRawBufferPointer, _ index: Int, count: Int) -> UInt32 {
        var value: UInt32 = 0
        for offset in 0..<count {
            value |= UInt32(key[index + offset]) << (8 * UInt32(offset))
        }
        return value
    }

    @inline(__always)
    private static func rotate(_ x: UInt32, _ k: UInt32) -> UInt32 {
        (x << k) | (x >> (32 - k))
    }

    @inline(__always)
    private static func mix(_ a: inout UInt32, _ b: inout UInt32, _ c: inout UInt32) {
        a &-= c; a ^= rotate(c, 4); c &+= b
        b &-= a; b ^= rotate(a, 6); a &+= c
        c &-= b; c ^= rotate(b, 8); b &+= a
        a &-= c; a ^= rotate(c, 16); c &+= b
        b &-= a; b ^= rotate(a, 19); a &+= c
        c &-= b; c ^= rotate(b, 4); b &+= a
    }

    @inline(__always)
    private static func final(_ a: inout UInt32, _ b: inout UInt32, _ c: inout UInt32) {
        c ^= b; c &-= rotate(b, 14)
        a ^= c; a &-= rotate(c, 11)
        b ^= a; b &-= rotate(a, 25)
        c ^= b; c &-= rotate(b, 16)
        a ^= c; a &-= rotate(c, 4)
        b ^= a; b &-= rotate(a, 14)
        c ^= b; c &-= rotate(b, 24)
    }
}
