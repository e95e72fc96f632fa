/// The key hash algorithms flare knows (docs/original-behaviour.md, "Key hashing and partition resolver").
///
/// The raw value is the configuration / `meta` spelling (`key-hash-algorithm`).
public enum KeyHashAlgorithm: String, Sendable, CaseIterable {
    case simple
    case bitshift
    case crc32
    case adler32
    case murmur
    case jenkins

    /// Hashes the key bytes the way flared does before resolving a partition.
    ///
    /// The result is a C `int`: the algorithm's 32-bit value reinterpreted as signed and
    /// negated when negative. −2³¹ has no positive counterpart and stays −2³¹, exactly as
    /// the original's two's-complement negation leaves it; `ModularResolver` copes with it.
    @inline(__always)
    public func hash(_ key: UnsafeRawBufferPointer) -> Int32 {
        let raw: UInt32
        switch self {
        case .simple: raw = ByteSumHash.simple(key)
        case .bitshift: raw = ByteSumHash.bitshift(key)
        case .crc32: raw = CRC32.checksum(key)
        case .adler32: raw = Adler32.checksum(key)
        case .murmur: raw = MurmurHash2.hash(key)
        case .jenkins: raw = JenkinsLookup3.hashLittle(key, initialValue: JenkinsLookup3.libhashkitInitialValue)
        }
        return Self.signFixed(raw)
    }

    /// Convenience for keys held as a `String`: hashes its UTF-8 bytes.
    public func hash(_ key: String) -> Int32 {
        var key = key
        return key.withUTF8 { hash(UnsafeRawBufferPointer($0)) }
    }

    /// Convenience for keys held as a byte array.
    public func hash(_ key: [UInt8]) -> Int32 {
        key.withUnsafeBytes { hash($0) }
    }

    /// Whether flarei accepts this algorithm as the cluster's `key-hash-algorithm`.
    ///
    /// flarei refuses to start with `bitshift`, `adler32` or `murmur`; only these three are
    /// ever published via `meta`.
    public var isUsableForPartitioning: Bool {
        switch self {
        case .simple, .crc32, .jenkins: return true
        case .bitshift, .adler32, .murmur: return false
        }
    }

    /// libhashkit's MurmurHash2 of the key, as the raw unsigned 32-bit value (no sign fix-up).
    ///
    /// Used where flare needs a well-spread local choice with no interop impact (proxy worker
    /// thread for a key, lock striping); unsigned so a plain `%` never goes negative.
    @inline(__always)
    public static func murmur(_ key: UnsafeRawBufferPointer) -> UInt32 {
        MurmurHash2.hash(key)
    }

    /// The original's `if (value < 0) value *= -1` on a C `int`, including the −2³¹ wrap.
    @inline(__always)
    static func signFixed(_ raw: UInt32) -> Int32 {
        let value = Int32(bitPattern: raw)
        return value < 0 ? 0 &- value : value
    }
}
