#if canImport(Glibc)
import Glibc
#endif

/// Parses memcached text-protocol requests in place from a connection's read buffer.
///
/// Pure and stateless apart from its limits: a connection calls `parse` with all unconsumed input,
/// and the parser either returns one complete request (with slices into that input), asks for more
/// bytes, or describes the error. It is a value type; each worker thread keeps its own copy.
public struct RequestParser: Sendable {
    public var limits: ParserLimits
    /// Whether a request starting with the binary protocol's magic byte is refused as such
    /// (servers without the binary protocol); otherwise it is read as a text line, as memcached
    /// does once a connection has chosen text.
    public var refusesBinary = true

    public init(limits: ParserLimits = ParserLimits()) {
        self.limits = limits
    }

    /// `scannedWithoutNewline`: how many leading bytes of `input` an earlier call found to hold no
    /// line end (it returned `.needMore(atLeast: 0)` for them); they are not scanned again.
    public func parse(_ input: UnsafeRawBufferPointer, scannedWithoutNewline: Int = 0) -> ParseResult {
        guard let base = input.baseAddress, input.count > 0 else { return .needMore(atLeast: 0) }
        if input[0] == 0x80 && refusesBinary {
            return .invalid(.binaryProtocol, consumed: input.count, swallow: 0, silent: false, close: true)
        }
        let scan = min(input.count, limits.maxLineLength)
        let skip = max(0, min(scannedWithoutNewline, scan))
        var found = memchr(base + skip, 0x0A, scan - skip)
        if found == nil && input.count > scan && RequestParser.isRetrieval(input) {
            let from = max(scan, min(scannedWithoutNewline, input.count))
            found = memchr(base + from, 0x0A, max(0, min(input.count, limits.maxRetrievalLineLength) - from))
        }
        guard let nl = found else {
            let limit = RequestParser.isRetrieval(input) ? limits.maxRetrievalLineLength : limits.maxLineLength
            if input.count >= limit {
                return .invalid(.lineTooLong, consumed: input.count, swallow: 0, silent: false, close: true)
            }
            return .needMore(atLeast: 0)
        }
        let newline = base.distance(to: UnsafeRawPointer(nl))
        let lineEnd = newline > 0 && input[newline - 1] == 0x0D ? newline - 1 : newline
        let line = UnsafeRawBufferPointer(start: base, count: lineEnd)
        let consumed = newline + 1

        // Node-to-node requests may start with `<node-key[,node-key…]>`: the nodes that forwarded it.
        var proxyPath = UnsafeRawBufferPointer(start: nil, count: 0)
        var commandLine = line
        if line.first == UInt8(ascii: "<") {
            guard let close = line.firstIndex(of: UInt8(ascii: ">")) else {
                return .invalid(.unknownCommand, consumed: consumed, swallow: 0, silent: false, close: false)
            }
            proxyPath = UnsafeRawBufferPointer(rebasing: line[1..<close])
            commandLine = UnsafeRawBufferPointer(rebasing: line[(close + 1)...])
        }
        var tokens = Tokenizer(commandLine)
        guard let word = tokens.next(), let command = Command.lookup(word) else {
            return .invalid(.unknownCommand, consumed: consumed, swallow: 0, silent: false, close: false)
        }
        var request = Request(command: command, line: line, arguments: tokens)
        request.proxyPath = proxyPath
        switch command {
        case .mg, .ms, .md, .ma, .mn, .me:
            return parseMeta(&request, tokens: &tokens, input: input, lineConsumed: consumed)
        case .set, .add, .replace, .append, .prepend, .cas:
            return parseStorage(&request, tokens: &tokens, input: input, lineConsumed: consumed)
        case .get, .gets:
            guard let error = checkKeys(tokens, required: true) else {
                request.key = tokens.peekKey()
                return .request(request, consumed: consumed)
            }
            return .invalid(error, consumed: consumed, swallow: 0, silent: false, close: false)
        case .gat, .gats:
            guard let t = tokens.next() else {
                return .invalid(.unknownCommand, consumed: consumed, swallow: 0, silent: false, close: false)
            }
            guard let exptime = Decimal.int32(t) else {
                return .invalid(.invalidExptime, consumed: consumed, swallow: 0, silent: false, close: false)
            }
            request.exptime = exptime
            // memcached answers a gat without keys with an empty END.
            if let error = checkKeys(tokens, required: false) {
                return .invalid(error, consumed: consumed, swallow: 0, silent: false, close: false)
            }
            request.key = tokens.peekKey()
            return .request(request, consumed: consumed)
        case .delete:
            return finish(parseDelete(&request, &tokens), request, consumed)
        case .incr, .decr:
            return finish(parseArithmetic(&request, &tokens), request, consumed)
        case .touch:
            return finish(parseTouch(&request, &tokens), request, consumed)
        case .flushAll:
            return finish(parseFlushAll(&request, &tokens), request, consumed)
        case .verbosity:
            // memcached: one or two words; a last word `noreply` silences even the error.
            guard let t = tokens.next() else {
                return .invalid(.unknownCommand, consumed: consumed, swallow: 0, silent: false, close: false)
            }
            let second = tokens.next()
            guard tokens.next() == nil else {
                return .invalid(.unknownCommand, consumed: consumed, swallow: 0, silent: false, close: false)
            }
            request.noreply = (second ?? t).equals("noreply")
            // memcached reads the level as an unsigned long: a sign or more than 64 bits is bad.
            guard let level = Decimal.uint64(t) else {
                return .invalid(.badFormat, consumed: consumed, swallow: 0, silent: request.noreply, close: false)
            }
            request.number = Int64(clamping: level)
            return .request(request, consumed: consumed)
        default:
            // Administrative commands read their own arguments from `request.arguments`.
            return .request(request, consumed: consumed)
        }
    }

    /// Whether the line starts with get, gets, gat or gats (the commands whose lines may be long).
    static func isRetrieval(_ input: UnsafeRawBufferPointer) -> Bool {
        var start = 0
        while start < input.count && input[start] == 0x20 { start += 1 }
        let rest = UnsafeRawBufferPointer(rebasing: input[start...])
        guard rest.count >= 4, rest[0] == UInt8(ascii: "g") else { return false }
        let word = rest[3] == 0x20 ? 3 : rest.count >= 5 && rest[4] == 0x20 ? 4 : 0
        guard word > 0 else { return false }
        let command = UnsafeRawBufferPointer(rebasing: rest[0..<word])
        return command.equals("get") || command.equals("gets") || command.equals("gat") || command.equals("gats")
    }

    private func finish(_ error: ProtocolError?, _ request: Request, _ consumed: Int) -> ParseResult {
        if let error {
            let silent = error != .unknownCommand && RequestParser.endsWithNoreply(request.line)
            return .invalid(error, consumed: consumed, swallow: 0, silent: silent, close: false)
        }
        return .request(request, consumed: consumed)
    }

    /// memcached answers nothing, not even an error, to a malformed request whose last word is
    /// `noreply`: a client pipelining noreply writes would take the error for the reply to its next request.
    static func endsWithNoreply(_ line: UnsafeRawBufferPointer) -> Bool {
        var tokens = Tokenizer(line)
        var last: UnsafeRawBufferPointer?
        while let word = tokens.next() { last = word }
        return last?.equals("noreply") == true
    }

    /// `<cmd> <key> <flags> <exptime> <bytes> [<cas>|<version>] [noreply|sync|async]…` + data block.
    private func parseStorage(_ request: inout Request, tokens: inout Tokenizer,
                              input: UnsafeRawBufferPointer, lineConsumed: Int) -> ParseResult {
        let key = tokens.next()
        let flags = tokens.next().flatMap(Decimal.uint32)
        let exptime = tokens.next().flatMap(Decimal.int32)
        guard let bytesWord = tokens.next() else {
            // Too few words: memcached does not recognise the command at all.
            return .invalid(.unknownCommand, consumed: lineConsumed, swallow: 0, silent: false, close: false)
        }
        // memcached reads the length as an int32 and refuses one that cannot fit with its CR LF;
        // skipping a larger "data block" would swallow everything the client sends next.
        guard let bytes = Decimal.int64(bytesWord), bytes >= 0, bytes <= Int64(Int32.max) - 2 else {
            // Without a valid length the data block cannot be told apart from the next command.
            return .invalid(.badFormat, consumed: lineConsumed, swallow: 0, silent: RequestParser.endsWithNoreply(request.line), close: false)
        }
        var valid = flags != nil && exptime != nil && key.map(isValidKey) == true
        if request.command == .cas {
            guard let t = tokens.next() else {
                // No cas unique: memcached answers ERROR; the block is still skipped.
                return .invalid(.unknownCommand, consumed: lineConsumed, swallow: Int(bytes) + 2, silent: false, close: false)
            }
            if let unique = Decimal.uint64(t) { request.casUnique = unique } else { valid = false }
        } else if valid, let t = tokens.peek(), let version = Decimal.version(t) {
            _ = tokens.next()
            request.version = version
        }
        if valid { valid = parseOptions(&request, &tokens, replication: true) }
        guard bytes <= Int64(limits.maxValueSize) else {
            // Refused; as memcached does for `set`, the key's old value goes too: the client meant to replace it.
            if valid, request.command == .set, let key {
                return .tooLarge(key: key, consumed: lineConsumed, swallow: Int(bytes) + 2, silent: request.noreply)
            }
            return .invalid(.objectTooLarge, consumed: lineConsumed, swallow: Int(bytes) + 2, silent: request.noreply, close: false)
        }
        guard valid else {
            // The length was readable, so the data block is skipped rather than run as a command.
            return .invalid(.badFormat, consumed: lineConsumed, swallow: Int(bytes) + 2, silent: RequestParser.endsWithNoreply(request.line), close: false)
        }
        let total = lineConsumed + Int(bytes) + 2
        guard input.count >= total else { return .needMore(atLeast: total) }
        if input[total - 2] != 0x0D || input[total - 1] != 0x0A {
            return .invalid(.badDataChunk, consumed: total, swallow: 0, silent: request.noreply, close: false)
        }
        request.key = key!
        request.flags = flags!
        request.exptime = exptime!
        request.value = UnsafeRawBufferPointer(rebasing: input[lineConsumed..<(lineConsumed + Int(bytes))])
        return .request(request, consumed: total)
    }

    /// `delete <key> [<time>] [<version>] [noreply|sync|async]…` (time and version are flare's).
    private func parseDelete(_ request: inout Request, _ tokens: inout Tokenizer) -> ProtocolError? {
        guard let key = tokens.next() else { return .unknownCommand }
        guard isValidKey(key) else { return .badDeleteFormat }
        request.key = key
        if let t = tokens.peek(), let time = Decimal.int32(t) {
            _ = tokens.next()
            request.number = time
            if let t = tokens.peek(), let version = Decimal.version(t) {
                _ = tokens.next()
                request.version = version
            }
        }
        return parseOptions(&request, &tokens, replication: true) ? nil : .badDeleteFormat
    }

    private func parseArithmetic(_ request: inout Request, _ tokens: inout Tokenizer) -> ProtocolError? {
        guard let key = tokens.next(), let d = tokens.next() else { return .unknownCommand }
        guard isValidKey(key) else { return .badFormat }
        guard let delta = Decimal.uint64(d) else { return .invalidDelta }
        request.key = key
        request.delta = delta
        return parseOptions(&request, &tokens, replication: true) ? nil : .badFormat
    }

    private func parseTouch(_ request: inout Request, _ tokens: inout Tokenizer) -> ProtocolError? {
        guard let key = tokens.next(), let t = tokens.next() else { return .unknownCommand }
        guard isValidKey(key) else { return .badFormat }
        guard let exptime = Decimal.int32(t) else { return .invalidExptime }
        request.key = key
        request.exptime = exptime
        return parseOptions(&request, &tokens, replication: false) ? nil : .badFormat
    }

    private func parseFlushAll(_ request: inout Request, _ tokens: inout Tokenizer) -> ProtocolError? {
        if let t = tokens.peek(), !t.equals("noreply") {
            guard let delay = Decimal.int32(t) else { return .invalidExptime }
            _ = tokens.next()
            request.number = delay
        }
        return parseOptions(&request, &tokens, replication: false) ? nil : .badFormat
    }

    /// Trailing words: `noreply`, and `sync`/`async` where replication applies. Anything else is an error.
    private func parseOptions(_ request: inout Request, _ tokens: inout Tokenizer, replication: Bool) -> Bool {
        while let word = tokens.next() {
            if word.equals("noreply") {
                request.noreply = true
            } else if replication && word.equals("sync") {
                request.replication = .sync
            } else if replication && word.equals("async") {
                request.replication = .async
            } else if replication && word.equals("withcas") {
                request.returnsVersion = true
            } else {
                return false
            }
        }
        return true
    }

    /// Every key of a multi-key command must be valid; at least one is required.
    private func checkKeys(_ tokens: Tokenizer, required: Bool) -> ProtocolError? {
        var t = tokens
        var count = 0
        while let key = t.next() {
            guard isValidKey(key) else { return .badFormat }
            count += 1
        }
        return count == 0 && required ? .unknownCommand : nil
    }

    /// Keys are non-empty, within the configured length, and free of control characters.
    @inline(__always)
    public func isValidKey(_ key: UnsafeRawBufferPointer) -> Bool {
        guard !key.isEmpty, key.count <= limits.maxKeyLength else { return false }
        for byte in key where byte < 0x20 || byte == 0x7F { return false }
        return true
    }
}

extension Tokenizer {
    /// The next word without advancing, or an empty slice.
    func peekKey() -> UnsafeRawBufferPointer {
        peek() ?? UnsafeRawBufferPointer(start: nil, count: 0)
    }
}
