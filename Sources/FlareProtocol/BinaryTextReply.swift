/// Reading a text-protocol reply as the binary answer it stands for.
///
/// A binary request runs through the same paths as its text twin — executed here, or forwarded
/// as text to the node that owns the key — and what comes back is a text reply. These are the
/// rules that turn it into a binary status, as memcached 1.6 would have answered the binary
/// request itself.
public enum BinaryTextReply {
    public enum Line: Equatable {
        /// Done; `cas` is the item's new version when the reply named it (`withcas`), else 0.
        case success(cas: UInt64)
        /// incr/decr's new value, and the item's version as for `success`.
        case number(UInt64, cas: UInt64)
        /// An error with memcached's standard message.
        case status(BinaryStatus)
        /// An error with a message of its own (refusals and failures of this server).
        case failure(BinaryStatus, String)
    }

    /// The status of a one-line reply (storage commands, delete, incr/decr, touch, flush) to `command`.
    public static func line(_ reply: UnsafeRawBufferPointer, for command: BinaryCommand) -> Line {
        let text = trimmed(reply)
        if text.equals("STORED") || text.equals("DELETED") || text.equals("TOUCHED") || text.equals("OK") {
            return .success(cas: 0)
        }
        var words = Tokenizer(text)
        if let first = words.next(), let second = words.next(), words.isAtEnd, let cas = Decimal.uint64(second) {
            // A forwarded write's `withcas` reply: `STORED <version>` or `<value> <version>`.
            if first.equals("STORED") { return .success(cas: cas) }
            if let value = Decimal.uint64(first) { return .number(value, cas: cas) }
        }
        if text.equals("NOT_STORED") {
            // memcached's binary add reports the key that is in the way; replace the one that is missing.
            switch command {
            case .add: return .status(.keyExists)
            case .replace: return .status(.keyNotFound)
            default: return .status(.notStored)
            }
        }
        if text.equals("EXISTS") { return .status(.keyExists) }
        if text.equals("NOT_FOUND") { return .status(.keyNotFound) }
        if text.equals("ERROR") { return .status(.unknownCommand) }
        if let first = text.first, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9"), let value = Decimal.uint64(text) {
            return .number(value, cas: 0)
        }
        if text.equals("CLIENT_ERROR cannot increment or decrement non-numeric value") { return .status(.nonNumeric) }
        if text.equals("SERVER_ERROR object too large for cache") { return .status(.tooLarge) }
        if let message = after("SERVER_ERROR ", in: text) {
            // The store failed, or the write is done here but its copies are not: not worth a
            // retry as is. Everything else (routing, the index, a proxy) is temporary.
            let failed = message.hasPrefix("storage error") || message.hasPrefix("replication to")
            return .failure(failed ? .internalError : .temporaryFailure, message)
        }
        if let message = after("CLIENT_ERROR ", in: text) { return .failure(.invalidArguments, message) }
        return .failure(.internalError, "unexpected reply: " + String(decoding: text, as: UTF8.self))
    }

    public enum Values {
        /// The item: its flags, cas, and where its value is in the reply.
        case hit(flags: UInt32, cas: UInt64, value: Range<Int>)
        case miss
        case failure(BinaryStatus, String)
    }

    /// A `gets`/`gats` reply for one key: `VALUE <key> <flags> <bytes> <cas>` and the data, then
    /// `END`; or just `END`; or an error line.
    public static func values(_ reply: UnsafeRawBufferPointer) -> Values {
        guard let newline = reply.firstIndex(of: 0x0A) else { return .failure(.internalError, "truncated reply") }
        let first = trimmed(UnsafeRawBufferPointer(rebasing: reply[..<newline]))
        guard first.starts(with: "VALUE ".utf8) else {
            if first.equals("END") { return .miss }
            switch line(first, for: .get) {
            case .failure(let status, let message): return .failure(status, message)
            case .status(let status): return .failure(status, "\(status.message)")
            case .success, .number: return .failure(.internalError, "unexpected reply: " + String(decoding: first, as: UTF8.self))
            }
        }
        var words = Tokenizer(first)
        _ = words.next()
        _ = words.next()
        guard let flags = words.next().flatMap(Decimal.uint32),
              let bytes = words.next().flatMap(Decimal.uint64), bytes <= UInt64(Int32.max),
              let cas = words.next().flatMap(Decimal.uint64) else {
            return .failure(.internalError, "malformed VALUE line")
        }
        let start = newline + 1
        let end = start + Int(bytes)
        guard end + 2 <= reply.count else { return .failure(.internalError, "truncated value") }
        return .hit(flags: flags, cas: cas, value: start..<end)
    }

    /// The line without its CR LF.
    private static func trimmed(_ line: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var end = line.count
        while end > 0 && (line[end - 1] == 0x0A || line[end - 1] == 0x0D) { end -= 1 }
        return UnsafeRawBufferPointer(rebasing: line[..<end])
    }

    private static func after(_ prefix: String, in text: UnsafeRawBufferPointer) -> String? {
        guard text.starts(with: prefix.utf8) else { return nil }
        return String(decoding: text[prefix.utf8.count...], as: UTF8.self)
    }
}
