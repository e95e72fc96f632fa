/// The flags of one meta command (`mg`, `ms`, `md`, `ma`, `me`), as memcached 1.6.18 reads them:
/// single letters, some followed by a token (`T30`, `Oabc`, `MA`). Parsed in place; the opaque
/// token (`O…`) is echoed from the request line's words.
public struct MetaFlags {
    /// One bit per flag letter present (`bit(_:)`).
    public var present: UInt64 = 0
    /// `T<ttl>`: new time to live (memcached exptime rules).
    public var ttl: Int64 = 0
    /// `N<ttl>`: create the item on a miss, with this time to live.
    public var vivify: Int64 = 0
    /// `R<ttl>`: win the right to recache when the remaining time to live is below this.
    public var recache: Int64 = 0
    /// `C<cas>`: compare with the item's cas unique before writing.
    public var compareCas: UInt64 = 0
    /// `F<flags>`: client flags for `ms`.
    public var clientFlags: UInt32 = 0
    /// `M<mode>`: the mode letter of `ms` and `ma`.
    public var mode: UInt8 = 0
    /// `J<value>`: `ma`'s initial value when it creates the item.
    public var initial: UInt64 = 0
    /// `D<delta>`: `ma`'s delta.
    public var delta: UInt64 = 1

    public init() {}

    /// The bit of an ASCII letter (A–Z: 0–25, a–z: 26–51); 63 for anything else.
    @inlinable
    public static func bit(_ letter: UInt8) -> UInt64 {
        switch letter {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): 1 << UInt64(letter - UInt8(ascii: "A"))
        case UInt8(ascii: "a")...UInt8(ascii: "z"): 1 << UInt64(letter - UInt8(ascii: "a") + 26)
        default: 1 << 63
        }
    }

    @inlinable
    public func has(_ letter: Unicode.Scalar) -> Bool {
        present & MetaFlags.bit(UInt8(ascii: letter)) != 0
    }
}

/// How a meta command line is malformed; the replies are memcached 1.6.18's.
public enum MetaError: Sendable, Equatable {
    case invalidFlag
    case duplicateFlag
    /// `md` and `ma` report every flag problem with one message.
    case invalidOrDuplicateFlag
    case badToken
    case badFormat
    case keyDecoding
    case opaqueTooLong
    case modeLength
    case invalidSetMode
    case invalidArithmeticMode
    case initialValue
    case deltaValue
    case tooManyFlags
    /// A base64 key that decodes to bytes a text-protocol key cannot hold (space, control bytes):
    /// flare replicates and forwards keys in text lines.
    case binaryKeyUnsupported

    public var reply: StaticString {
        switch self {
        case .invalidFlag: "CLIENT_ERROR invalid flag\r\n"
        case .duplicateFlag: "CLIENT_ERROR duplicate flag\r\n"
        case .invalidOrDuplicateFlag: "CLIENT_ERROR invalid or duplicate flag\r\n"
        case .badToken: "CLIENT_ERROR bad token in command line format\r\n"
        case .badFormat: "CLIENT_ERROR bad command line format\r\n"
        case .keyDecoding: "CLIENT_ERROR error decoding key\r\n"
        case .opaqueTooLong: "CLIENT_ERROR opaque token too long\r\n"
        case .modeLength: "CLIENT_ERROR incorrect length for M token\r\n"
        case .invalidSetMode: "CLIENT_ERROR invalid mode for ms M token\r\n"
        case .invalidArithmeticMode: "CLIENT_ERROR invalid mode for ma M token\r\n"
        case .initialValue: "CLIENT_ERROR invalid numeric initial value\r\n"
        case .deltaValue: "CLIENT_ERROR invalid numeric delta argument\r\n"
        case .tooManyFlags: "CLIENT_ERROR options flags are too long\r\n"
        case .binaryKeyUnsupported: "CLIENT_ERROR base64 key decodes to a space or control byte, which flare keys cannot hold\r\n"
        }
    }
}
