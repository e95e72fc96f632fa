/// How a write asks to be replicated, overriding the node's `replication-type` (flare extension).
public enum ReplicationOverride: UInt8, Sendable {
    case configured, sync, async
}

/// One parsed request. Every byte slice points into the connection's read buffer and is valid only
/// until the connection consumes the request: nothing is copied while parsing.
public struct Request {
    public var command: Command
    /// The whole request line without its line ending.
    public var line: UnsafeRawBufferPointer
    /// The first key (single-key commands, and the first key of a multi-get).
    public var key = UnsafeRawBufferPointer(start: nil, count: 0)
    /// The words after the command word; multi-key commands iterate their keys from here,
    /// administrative commands read their arguments from here.
    public var arguments: Tokenizer
    public var flags: UInt32 = 0
    /// The exptime exactly as sent (memcached rules: relative up to 30 days, absolute after, negative = expired).
    public var exptime: Int64 = 0
    /// The data block of a storage command.
    public var value = UnsafeRawBufferPointer(start: nil, count: 0)
    public var casUnique: UInt64 = 0
    /// Explicit item version carried by node-to-node writes (flare extension); 0 = none.
    public var version: UInt64 = 0
    /// incr/decr amount.
    public var delta: UInt64 = 0
    /// delete hold time, flush_all delay or verbosity level.
    public var number: Int64 = 0
    public var noreply = false
    /// `withcas` (between nodes only): a storage command's `STORED` and incr/decr's value are
    /// followed by the item's new version, which a binary request forwarded by a proxy returns as its cas.
    public var returnsVersion = false
    public var replication = ReplicationOverride.configured
    /// The `<a:1,b:2>` prefix of a forwarded request without its brackets: the nodes it passed
    /// through (flare's proxy prefix). Empty for client requests.
    public var proxyPath = UnsafeRawBufferPointer(start: nil, count: 0)
    /// The flags of a meta command; `arguments` then starts at its first flag.
    public var meta = MetaFlags()

    init(command: Command, line: UnsafeRawBufferPointer, arguments: Tokenizer) {
        self.command = command
        self.line = line
        self.arguments = arguments
    }

    /// Iterates the keys of get/gets/gat/gats in request order.
    public var keys: Tokenizer {
        var t = arguments
        if command == .gat || command == .gats { _ = t.next() }  // skip the exptime
        return t
    }
}

/// The protocol's answer to input it cannot accept. The reply text is memcached 1.6's for data
/// commands, so clients and their test suites recognise it.
public enum ProtocolError: Error, Sendable, Equatable {
    case unknownCommand
    case badFormat
    /// memcached's wording for a malformed delete, with its usage hint.
    case badDeleteFormat
    case badDataChunk
    case objectTooLarge
    case lineTooLong
    case invalidExptime
    case invalidDelta
    case binaryProtocol
    /// A malformed meta command (MetaError says which way).
    case meta(MetaError)

    public var reply: StaticString {
        switch self {
        case .unknownCommand: "ERROR\r\n"
        case .badFormat: "CLIENT_ERROR bad command line format\r\n"
        case .badDeleteFormat: "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n"
        case .badDataChunk: "CLIENT_ERROR bad data chunk\r\n"
        case .objectTooLarge: "SERVER_ERROR object too large for cache\r\n"
        case .lineTooLong: "CLIENT_ERROR line too long\r\n"
        case .invalidExptime: "CLIENT_ERROR invalid exptime argument\r\n"
        case .invalidDelta: "CLIENT_ERROR invalid numeric delta argument\r\n"
        case .binaryProtocol: "CLIENT_ERROR the binary protocol is not supported; use the text protocol\r\n"
        case .meta(let error): error.reply
        }
    }
}

/// Limits that protect the server from oversized input. All are settings of flared.
public struct ParserLimits: Sendable {
    /// Flare accepts keys longer than memcached's 250 bytes.
    public var maxKeyLength: Int
    /// Largest data block accepted; flare accepts values over memcached's 1 MB.
    public var maxValueSize: Int
    /// A request line longer than this without a line ending closes the connection, as memcached does.
    public var maxLineLength: Int
    /// get/gets/gat/gats take any number of keys, as in memcached (a client's multi-get of
    /// thousands of keys is one line): their lines may be this long, the bound on what one
    /// connection buffers for them.
    public var maxRetrievalLineLength: Int

    public init(maxKeyLength: Int = 8191, maxValueSize: Int = 64 << 20, maxLineLength: Int = 65536,
                maxRetrievalLineLength: Int = 8 << 20) {
        self.maxKeyLength = maxKeyLength
        self.maxValueSize = maxValueSize
        self.maxLineLength = maxLineLength
        self.maxRetrievalLineLength = max(maxLineLength, maxRetrievalLineLength)
    }
}

public enum ParseResult {
    /// A complete request occupying the first `consumed` bytes of the input.
    case request(Request, consumed: Int)
    /// Incomplete: nothing can be done before the input holds at least `atLeast` bytes (0 = unknown).
    case needMore(atLeast: Int)
    /// Bad input: reply with `error` (unless `silent`), drop `consumed` bytes, then discard the next
    /// `swallow` bytes as they arrive (a data block we refused); `close` ends the connection.
    case invalid(ProtocolError, consumed: Int, swallow: Int, silent: Bool, close: Bool)
    /// A storage command whose value exceeds the limit: refused like `.objectTooLarge`, and the
    /// key's current value is to be removed, as memcached does.
    case tooLarge(key: UnsafeRawBufferPointer, consumed: Int, swallow: Int, silent: Bool)
}
