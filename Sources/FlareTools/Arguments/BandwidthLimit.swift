/// `--bwlimit` values as the original reads them (Bwlimit.bps): a number of bits per second,
/// optionally with `k`/`M`/`G` (binary multiples) and `B` for bytes (`10MB` = 10·2²⁰·8 bps).
public enum BandwidthLimit {
    public static func bitsPerSecond(_ text: String) throws -> Int {
        let units: [(suffix: String, factor: Int)] = [("kB", 1024 * 8), ("MB", (1 << 20) * 8), ("GB", (1 << 30) * 8),
                                                      ("B", 8), ("k", 1024), ("M", 1 << 20), ("G", 1 << 30), ("", 1)]
        for unit in units where text.hasSuffix(unit.suffix) {
            let digits = text.dropLast(unit.suffix.count)
            if !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(digits) {
                return value * unit.factor
            }
        }
        throw ToolError.invalidArgument("invalid bandwidth limit '\(text)'")
    }

    /// The `dump` request's limit argument: KiB per second.
    public static func kibibytesPerSecond(bitsPerSecond: Int) -> Int { bitsPerSecond / 1024 / 8 }
}
