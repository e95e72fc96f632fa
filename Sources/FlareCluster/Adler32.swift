/// zlib's Adler-32, i.e. `adler32(1, key, len)`.
enum Adler32 {
    private static let modulus: UInt32 = 65_521
    /// Largest n such that 255·n·(n+1)/2 + (n+1)·(modulus−1) fits in 32 bits (zlib's NMAX):
    /// the sums may run this many bytes before they must be reduced.
    private static let bytesBetweenReductions = 5_552

    @inline(__always)
    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var a: UInt32 = 1
        var b: UInt32 = 0
        var index = 0
        while index < bytes.count {
            let end = min(index + bytesBetweenReductions, bytes.count)
            while index < end {
                a &+= UInt32(bytes[index])
                b &+= a
                index += 1
            }
            a %= modulus
            b %= modulus
        }
        return (b << 16) | a
    }
}
