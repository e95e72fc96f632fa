/// memcached's binary protocol: the 24-byte header, its opcodes and status codes.
///
/// Every multi-byte field is big-endian. A request is `0x80` (magic), opcode, key length (2),
/// extras length (1), data type (1), vbucket (2), total body length (4), opaque (4), cas (8),
/// then the body: extras, key, value, in that order. A response has magic `0x81` and the status
/// where the request has its vbucket.
public enum BinaryProtocol {
    public static let requestMagic: UInt8 = 0x80
    public static let responseMagic: UInt8 = 0x81
    public static let headerLength = 24
    /// The largest extras any command has (incr/decr: delta, initial value, expiration).
    public static let maxExtrasLength = 20
    /// incr/decr's expiration meaning "do not create a missing counter".
    public static let noCreateExpiration: UInt32 = 0xFFFF_FFFF
}

/// The commands, by opcode. The quiet forms share their base command's handling.
public struct BinaryOpcode: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let get = BinaryOpcode(rawValue: 0x00)
    public static let set = BinaryOpcode(rawValue: 0x01)
    public static let add = BinaryOpcode(rawValue: 0x02)
    public static let replace = BinaryOpcode(rawValue: 0x03)
    public static let delete = BinaryOpcode(rawValue: 0x04)
    public static let increment = BinaryOpcode(rawValue: 0x05)
    public static let decrement = BinaryOpcode(rawValue: 0x06)
    public static let quit = BinaryOpcode(rawValue: 0x07)
    public static let flush = BinaryOpcode(rawValue: 0x08)
    public static let getq = BinaryOpcode(rawValue: 0x09)
    public static let noop = BinaryOpcode(rawValue: 0x0A)
    public static let version = BinaryOpcode(rawValue: 0x0B)
    public static let getk = BinaryOpcode(rawValue: 0x0C)
    public static let getkq = BinaryOpcode(rawValue: 0x0D)
    public static let append = BinaryOpcode(rawValue: 0x0E)
    public static let prepend = BinaryOpcode(rawValue: 0x0F)
    public static let stat = BinaryOpcode(rawValue: 0x10)
    public static let setq = BinaryOpcode(rawValue: 0x11)
    public static let addq = BinaryOpcode(rawValue: 0x12)
    public static let replaceq = BinaryOpcode(rawValue: 0x13)
    public static let deleteq = BinaryOpcode(rawValue: 0x14)
    public static let incrementq = BinaryOpcode(rawValue: 0x15)
    public static let decrementq = BinaryOpcode(rawValue: 0x16)
    public static let quitq = BinaryOpcode(rawValue: 0x17)
    public static let flushq = BinaryOpcode(rawValue: 0x18)
    public static let appendq = BinaryOpcode(rawValue: 0x19)
    public static let prependq = BinaryOpcode(rawValue: 0x1A)
    public static let verbosity = BinaryOpcode(rawValue: 0x1B)
    public static let touch = BinaryOpcode(rawValue: 0x1C)
    public static let gat = BinaryOpcode(rawValue: 0x1D)
    public static let gatq = BinaryOpcode(rawValue: 0x1E)
    public static let saslListMechanisms = BinaryOpcode(rawValue: 0x20)
    public static let saslAuth = BinaryOpcode(rawValue: 0x21)
    public static let saslStep = BinaryOpcode(rawValue: 0x22)
    public static let gatk = BinaryOpcode(rawValue: 0x23)
    public static let gatkq = BinaryOpcode(rawValue: 0x24)
}

/// What a request asks for, quiet forms folded into their base command.
public enum BinaryCommand: Sendable, Equatable {
    case get, getk, set, add, replace, append, prepend, delete, increment, decrement
    case touch, gat, gatk, flush, noop, version, stat, quit
    /// An opcode memcached 1.6 answers with "Unknown command" (SASL without SASL support,
    /// verbosity, and everything it does not know).
    case unknown

    /// The command and whether the opcode is its quiet form.
    public static func decode(_ opcode: BinaryOpcode) -> (BinaryCommand, quiet: Bool) {
        switch opcode {
        case .get: (.get, false)
        case .getq: (.get, true)
        case .getk: (.getk, false)
        case .getkq: (.getk, true)
        case .set: (.set, false)
        case .setq: (.set, true)
        case .add: (.add, false)
        case .addq: (.add, true)
        case .replace: (.replace, false)
        case .replaceq: (.replace, true)
        case .append: (.append, false)
        case .appendq: (.append, true)
        case .prepend: (.prepend, false)
        case .prependq: (.prepend, true)
        case .delete: (.delete, false)
        case .deleteq: (.delete, true)
        case .increment: (.increment, false)
        case .incrementq: (.increment, true)
        case .decrement: (.decrement, false)
        case .decrementq: (.decrement, true)
        case .touch: (.touch, false)
        case .gat: (.gat, false)
        case .gatq: (.gat, true)
        case .gatk: (.gatk, false)
        case .gatkq: (.gatk, true)
        case .flush: (.flush, false)
        case .flushq: (.flush, true)
        case .noop: (.noop, false)
        case .version: (.version, false)
        case .stat: (.stat, false)
        case .quit: (.quit, false)
        case .quitq: (.quit, true)
        default: (.unknown, false)
        }
    }

    /// Whether the request carries a value to store (its length is bounded by the item size limit).
    public var storesValue: Bool {
        switch self {
        case .set, .add, .replace, .append, .prepend: true
        default: false
        }
    }

    /// The text command this one runs as (for `stats threads` and the shared execution paths).
    public var textCommand: Command {
        switch self {
        case .get, .getk: .get
        case .set: .set
        case .add: .add
        case .replace: .replace
        case .append: .append
        case .prepend: .prepend
        case .delete: .delete
        case .increment: .incr
        case .decrement: .decr
        case .touch: .touch
        case .gat, .gatk: .gat
        case .flush: .flushAll
        case .noop, .unknown: .ping
        case .version: .version
        case .stat: .stats
        case .quit: .quit
        }
    }
}

/// Response status codes (memcached's protocol_binary.h).
public struct BinaryStatus: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let success = BinaryStatus(rawValue: 0x00)
    public static let keyNotFound = BinaryStatus(rawValue: 0x01)
    public static let keyExists = BinaryStatus(rawValue: 0x02)
    public static let tooLarge = BinaryStatus(rawValue: 0x03)
    public static let invalidArguments = BinaryStatus(rawValue: 0x04)
    public static let notStored = BinaryStatus(rawValue: 0x05)
    public static let nonNumeric = BinaryStatus(rawValue: 0x06)
    public static let unknownCommand = BinaryStatus(rawValue: 0x81)
    public static let outOfMemory = BinaryStatus(rawValue: 0x82)
    public static let notSupported = BinaryStatus(rawValue: 0x83)
    public static let internalError = BinaryStatus(rawValue: 0x84)
    public static let busy = BinaryStatus(rawValue: 0x85)
    public static let temporaryFailure = BinaryStatus(rawValue: 0x86)

    /// The body memcached sends with the error when it has nothing more specific to say.
    public var message: StaticString {
        switch self {
        case .keyNotFound: "Not found"
        case .keyExists: "Data exists for key."
        case .tooLarge: "Too large."
        case .invalidArguments: "Invalid arguments"
        case .notStored: "Not stored."
        case .nonNumeric: "Non-numeric server-side value for incr or decr"
        case .unknownCommand: "Unknown command"
        case .outOfMemory: "Out of memory"
        case .notSupported: "Not supported"
        case .internalError: "Internal error"
        case .busy: "Busy"
        case .temporaryFailure: "Temporary failure"
        default: ""
        }
    }
}

/// The fixed header of a request, fields in host order.
public struct BinaryHeader: Sendable, Equatable {
    public var magic: UInt8
    public var opcode: BinaryOpcode
    public var keyLength: Int
    public var extrasLength: Int
    public var bodyLength: Int
    public var opaque: UInt32
    public var cas: UInt64

    /// Reads the header from the first 24 bytes of `bytes` (the caller checked there are 24).
    public init(_ bytes: UnsafeRawBufferPointer) {
        magic = bytes[0]
        opcode = BinaryOpcode(rawValue: bytes[1])
        keyLength = Int(bytes.bigEndian(UInt16.self, at: 2))
        extrasLength = Int(bytes[4])
        bodyLength = Int(bytes.bigEndian(UInt32.self, at: 8))
        // The opaque goes back exactly as sent, so it keeps its wire byte order.
        opaque = bytes.loadUnaligned(fromByteOffset: 12, as: UInt32.self)
        cas = bytes.bigEndian(UInt64.self, at: 16)
    }

    public init(opcode: BinaryOpcode, keyLength: Int = 0, extrasLength: Int = 0, bodyLength: Int = 0,
                opaque: UInt32 = 0, cas: UInt64 = 0) {
        magic = BinaryProtocol.requestMagic
        self.opcode = opcode
        self.keyLength = keyLength
        self.extrasLength = extrasLength
        self.bodyLength = bodyLength
        self.opaque = opaque
        self.cas = cas
    }

    /// Value length: what the body holds after extras and key (the caller checked it is not negative).
    public var valueLength: Int { bodyLength - keyLength - extrasLength }
}

extension UnsafeRawBufferPointer {
    /// A big-endian integer at `offset` (bounds are the caller's).
    @inline(__always)
    public func bigEndian<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T {
        T(bigEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}
