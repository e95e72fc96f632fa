/// The two byte-accumulating hashes of flare's storage layer (`simple` and `bitshift`).
///
/// Both read every byte as a *signed* char, as x86 builds of the original do, and wrap
/// modulo 2³² (keys are unbounded in length, so the C `int` overflow is routine there).
enum ByteSumHash {
    /// Sum of the key's bytes taken as signed chars.
    @inline(__always)
    static func simple(_ key: UnsafeRawBufferPointer) -> UInt32 {
        var sum: UInt32 = 0
        for byte in key {
            sum = sum &+ signedCharValue(byte)
        }
        return sum
    }

    /// r = 19790217, then r = r·37 + c for every signed byte c.
    @inline(__always)
    static func bitshift(_ key: UnsafeRawBufferPointer) -> UInt32 {
        var r: UInt32 = 19_790_217
        for byte in key {
            // (r<<5)+(r<<2)+r is r·37; spelt as in the original so the wrap is obviously identical.
            r = (r << 5) &+ (r << 2) &+ r &+ signedCharValue(byte)
        }
        return r
    }

    /// The byte sign-extended to 32 bits, as C does when adding a `char` to an `int`.
    @inline(__always)
    private static func signedCharValue(_ byte: UInt8) -> UInt32 {
        UInt32(bitPattern: Int32(Int8(bitPattern: byte)))
    }
}
