/// Number conversions with the leniency of Ruby's `String#to_i`, which the original tools apply
/// to every numeric field of a reply: leading blanks and sign are accepted, conversion stops at
/// the first non-digit, and text without digits is 0.
public enum RubyNumber {
    public static func integer(_ text: String) -> Int {
        var scalars = Substring(text).drop(while: { $0 == " " })
        var negative = false
        if let sign = scalars.first, sign == "-" || sign == "+" {
            negative = sign == "-"
            scalars = scalars.dropFirst()
        }
        var value = 0
        for character in scalars {
            guard let digit = character.wholeNumberValue, character.isASCII else { break }
            let (product, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = product.addingReportingOverflow(digit)
            if overflow1 || overflow2 { return negative ? Int.min : Int.max }
            value = sum
        }
        return negative ? -value : value
    }

    /// Unsigned 64-bit variant for item versions (cas uniques), which may exceed Int.max.
    public static func unsigned(_ text: String) -> UInt64 {
        var value: UInt64 = 0
        for character in text.drop(while: { $0 == " " }) {
            guard let digit = character.wholeNumberValue, character.isASCII else { break }
            let (product, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = product.addingReportingOverflow(UInt64(digit))
            if overflow1 || overflow2 { return UInt64.max }
            value = sum
        }
        return value
    }
}

extension String {
    /// A NUL-terminated C character buffer as text.
    init(nulTerminated buffer: [CChar]) {
        self = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
