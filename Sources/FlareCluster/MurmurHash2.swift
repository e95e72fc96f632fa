/// libhashkit's MurmurHash2 (`hashkit_murmur`), which differs from Austin Appleby's reference
/// only in its seed: 0xdeadbeef × length instead of a caller-supplied value.
enum MurmurHash2 {
    private static let m: UInt32 = 0x5BD1_E995
    private static let r: UInt32 = 24

    @inline(__always)
    static func hash(_ key: UnsafeRawBufferPointer) -> UInt32 {
        let length = UInt32(truncatingIfNeeded: key.count)
        let seed = 0xDEAD_BEEF &* length
        var h = seed ^ length

        var index = 0
        // Whole 4-byte words, little-endian whatever the host (the original only ran on x86).
        while key.count - index >= 4 {
            var k = UInt32(key[index])
                | UInt32(key[index + 1]) << 8
                | UInt32(key[index + 2]) << 16
                | UInt32(key[index + 3]) << 24
            k &*= m
            k ^= k >> r
            k &*= m
            h &*= m
            h ^= k
            index += 4
        }

        let tail = key.count - index
        if tail >= 3 { h ^= UInt32(key[index + 2]) << 16 }
        if tail >= 2 { h ^= UInt32(key[index + 1]) << 8 }
        if tail >= 1 {
            h ^= UInt32(key[index])
            h &*= m
        }

        h ^= h >> 13
        h &*= m
        h ^= h >> 15
        return h
    }
}
