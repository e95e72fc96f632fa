import Glibc

/// Kind of request in flight; kept per slot of a connection's current batch.
enum RequestKind: UInt8 {
    case get = 0
    case set = 1
}

/// Immutable pieces from which requests are assembled by plain memcpy into a
/// connection's reusable write buffer. Shared read-only by all worker threads.
/// @unchecked: raw buffers, written only by `init`.
final class RequestTemplates: @unchecked Sendable {
    let prefix: UnsafeMutablePointer<UInt8>
    let prefixCount: Int
    /// " 0 0 <value-size>\r\n"
    let setHeaderTail: UnsafeMutablePointer<UInt8>
    let setHeaderTailCount: Int
    /// value bytes followed by "\r\n"
    let valueBlock: UnsafeMutablePointer<UInt8>
    let valueBlockCount: Int
    let multiget: Int

    /// Largest possible key: prefix plus 20 decimal digits.
    var maxKeyLength: Int { prefixCount + 20 }
    var maxGetLength: Int { 4 + multiget * (maxKeyLength + 1) + 2 }
    var maxSetLength: Int { 4 + maxKeyLength + setHeaderTailCount + valueBlockCount }

    init(keyPrefix: String, valueSize: Int, multiget: Int) {
        func copy(_ bytes: [UInt8]) -> (UnsafeMutablePointer<UInt8>, Int) {
            let p = UnsafeMutablePointer<UInt8>.allocate(capacity: max(bytes.count, 1))
            p.initialize(from: bytes, count: bytes.count)
            return (p, bytes.count)
        }
        (prefix, prefixCount) = copy(Array(keyPrefix.utf8))
        (setHeaderTail, setHeaderTailCount) = copy(Array(" 0 0 \(valueSize)\r\n".utf8))
        var value = [UInt8](repeating: 0, count: valueSize + 2)
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)
        for i in 0..<valueSize { value[i] = alphabet[i % alphabet.count] }
        value[valueSize] = 0x0D
        value[valueSize + 1] = 0x0A
        (valueBlock, valueBlockCount) = copy(value)
        self.multiget = multiget
    }

    deinit {
        prefix.deallocate()
        setHeaderTail.deallocate()
        valueBlock.deallocate()
    }

    @inline(__always)
    private func putKey(_ key: Int, _ out: UnsafeMutablePointer<UInt8>) -> Int {
        memcpy(out, prefix, prefixCount)
        var n = prefixCount
        var v = UInt64(key)
        let first = n
        repeat {
            out[n] = UInt8(truncatingIfNeeded: 48 + v % 10)
            v /= 10
            n += 1
        } while v > 0
        var i = first, j = n - 1
        while i < j { let t = out[i]; out[i] = out[j]; out[j] = t; i += 1; j -= 1 }
        return n
    }

    /// Writes `get <key>...\r\n` for `keys.count` keys; returns bytes written.
    @inline(__always)
    func putGet(_ out: UnsafeMutablePointer<UInt8>, keys rng: inout XorShift, keySpace: Int) -> Int {
        out[0] = 0x67; out[1] = 0x65; out[2] = 0x74   // "get"
        var n = 3
        for _ in 0..<multiget {
            out[n] = 0x20
            n += 1
            n += putKey(rng.below(keySpace), out + n)
        }
        out[n] = 0x0D; out[n + 1] = 0x0A
        return n + 2
    }

    /// Writes `set <key> 0 0 <size>\r\n<value>\r\n`; returns bytes written.
    @inline(__always)
    func putSet(_ out: UnsafeMutablePointer<UInt8>, key: Int) -> Int {
        out[0] = 0x73; out[1] = 0x65; out[2] = 0x74; out[3] = 0x20   // "set "
        var n = 4
        n += putKey(key, out + n)
        memcpy(out + n, setHeaderTail, setHeaderTailCount)
        n += setHeaderTailCount
        memcpy(out + n, valueBlock, valueBlockCount)
        return n + valueBlockCount
    }
}

/// xorshift64* — cheap per-connection pseudo-random numbers.
struct XorShift {
    private var state: UInt64

    init(seed: UInt64) {
        // splitmix64 the seed so that neighbouring seeds give unrelated streams.
        var z = seed &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        state = z == 0 ? 0x2545_F491_4F6C_DD1D : z
    }

    @inline(__always)
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }

    /// Uniform in 0..<n (n < 2^32) by multiply-shift, no division.
    @inline(__always)
    mutating func below(_ n: Int) -> Int {
        Int(((next() >> 32) &* UInt64(n)) >> 32)
    }
}
