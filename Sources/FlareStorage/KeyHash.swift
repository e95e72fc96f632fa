/// Fast non-cryptographic hashing of key bytes, without allocating.
/// Used for shard and bucket selection and for the delete-hold cache's key digests.
/// Pure functions: any thread.
enum KeyHash {
    private static let k0: UInt64 = 0xa076_1d64_78bd_642f
    private static let k1: UInt64 = 0xe703_7ed1_a0b4_28db

    /// 64-bit hash of `key` under `seed` (wyhash-style multiply-fold mixing).
    @inline(__always)
    static func hash(_ key: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        let count = key.count
        var h = seed ^ fold(UInt64(truncatingIfNeeded: count) ^ k0, k1)
        var offset = 0
        while offset + 8 <= count {
            h = fold(h ^ key.loadUnaligned(fromByteOffset: offset, as: UInt64.self), k1)
            offset += 8
        }
        if offset < count {
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while offset < count {
                tail |= UInt64(key[offset]) << shift
                shift += 8
                offset += 1
            }
            h = fold(h ^ tail, k0)
        }
        return finalize(h)
    }

    @inline(__always)
    private static func fold(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let product = a.multipliedFullWidth(by: b)
        return product.high ^ product.low
    }

    /// Murmur3's fmix64: spreads every input bit over the whole word.
    @inline(__always)
    private static func finalize(_ value: UInt64) -> UInt64 {
        var x = value
        x ^= x >> 33
        x &*= 0xff51_afd7_ed55_8ccd
        x ^= x >> 33
        x &*= 0xc4ce_b9fe_1a85_ec53
        x ^= x >> 33
        return x
    }
}

/// A 128-bit fingerprint standing for a key where storing the key itself would
/// allocate. Two different keys collide with probability about 2^-128.
struct KeyDigest: Hashable, Sendable {
    var low: UInt64
    var high: UInt64

    init(low: UInt64, high: UInt64) {
        self.low = low
        self.high = high
    }

    init(_ key: UnsafeRawBufferPointer) {
        low = KeyHash.hash(key, seed: 0x243f_6a88_85a3_08d3)
        high = KeyHash.hash(key, seed: 0x1319_8a2e_0370_7344)
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(low)
    }
}
