/// Parsing of memcached 1.6's meta commands (`mg`, `ms`, `md`, `ma`, `mn`, `me`), with the error
/// replies of memcached 1.6.18: a client library's tests recognise them.
extension RequestParser {
    /// Flag letters memcached 1.6.18 knows (any meta command accepts them; each command ignores
    /// those that do not concern it).
    static let knownMetaFlags: UInt64 = "bNTRlOPLkstcfvhuqFCMJDI".utf8.reduce(0) { $0 | MetaFlags.bit($1) }

    /// `<cmd> <key> [<datalen> (ms)] <flag>*` (+ data block for `ms`).
    func parseMeta(_ request: inout Request, tokens: inout Tokenizer,
                   input: UnsafeRawBufferPointer, lineConsumed: Int) -> ParseResult {
        func fail(_ error: ProtocolError, swallow: Int = 0) -> ParseResult {
            .invalid(error, consumed: lineConsumed, swallow: swallow, silent: false, close: false)
        }
        let command = request.command
        if command == .mn { return .request(request, consumed: lineConsumed) }
        guard let key = tokens.next() else {
            return fail(command == .me ? .meta(.badFormat) : .unknownCommand)
        }
        // memcached refuses a key that is too long before it reads the data length.
        guard !key.isEmpty, key.count <= limits.maxKeyLength else { return fail(.meta(.badFormat)) }
        request.key = key
        var swallow = 0
        if command == .ms {
            // Without a readable length the data block cannot be told from the next command.
            guard let lengthWord = tokens.next() else { return fail(.meta(.badFormat)) }
            guard let length = Decimal.uint64(lengthWord), length <= UInt64(Int32.max) - 2 else {
                return fail(.meta(.badFormat))
            }
            swallow = Int(length) + 2
        }
        // flare refuses control bytes in keys (memcached stores them); the block is skipped.
        guard isValidKey(key) else { return fail(.meta(.badFormat), swallow: swallow) }
        request.arguments = tokens
        if command == .me {
            // memcached's `me` reads only a `b` after the key and ignores anything else.
            if tokens.next()?.equals("b") == true {
                guard Base64.isValid(key) else { return fail(.meta(.badFormat)) }
                request.meta.present = MetaFlags.bit(UInt8(ascii: "b"))
            }
            return .request(request, consumed: lineConsumed)
        }
        if let error = parseMetaFlags(&request.meta, tokens: &tokens, key: key) {
            // md and ma answer every flag problem with one message.
            let reported = command == .md || command == .ma ? MetaError.invalidOrDuplicateFlag : error
            return fail(.meta(reported), swallow: swallow)
        }
        switch command {
        case .ms:
            if request.meta.has("M") {
                switch request.meta.mode {
                case UInt8(ascii: "E"), UInt8(ascii: "A"), UInt8(ascii: "P"), UInt8(ascii: "R"), UInt8(ascii: "S"): break
                default: return fail(.meta(.invalidSetMode), swallow: swallow)
                }
            }
            let length = swallow - 2
            guard length <= limits.maxValueSize else {
                // As for `set`, memcached drops the key's old value: the client meant to replace it.
                if !request.meta.has("b") {
                    return .tooLarge(key: key, consumed: lineConsumed, swallow: swallow, silent: false)
                }
                return .invalid(.objectTooLarge, consumed: lineConsumed, swallow: swallow, silent: false, close: false)
            }
            let total = lineConsumed + swallow
            guard input.count >= total else { return .needMore(atLeast: total) }
            if input[total - 2] != 0x0D || input[total - 1] != 0x0A {
                return .invalid(.badDataChunk, consumed: total, swallow: 0, silent: false, close: false)
            }
            request.value = UnsafeRawBufferPointer(rebasing: input[lineConsumed..<(lineConsumed + length)])
            return .request(request, consumed: total)
        case .ma:
            if request.meta.has("M") {
                switch request.meta.mode {
                case UInt8(ascii: "I"), UInt8(ascii: "+"), UInt8(ascii: "D"), UInt8(ascii: "-"): break
                default: return fail(.meta(.invalidArithmeticMode))
                }
            }
        default:
            break
        }
        return .request(request, consumed: lineConsumed)
    }

    /// Reads every flag word; nil when all are valid.
    ///
    /// As memcached 1.6.18: an unknown or repeated letter stops at once; a bad token is noted and
    /// reading goes on, the last such message standing (a bad `F` has none of its own: `bad command
    /// line format`); an over-long opaque counts only if nothing else is wrong.
    func parseMetaFlags(_ flags: inout MetaFlags, tokens: inout Tokenizer, key: UnsafeRawBufferPointer) -> MetaError? {
        var failed = false
        var message: MetaError?
        var opaqueTooLong = false
        func fail(_ error: MetaError?) {
            failed = true
            if let error { message = error }
        }
        while let word = tokens.next() {
            let letter = word[0]
            let bit = MetaFlags.bit(letter)
            guard RequestParser.knownMetaFlags & bit != 0 else { return .invalidFlag }
            guard flags.present & bit == 0 else { return .duplicateFlag }
            flags.present |= bit
            let token = UnsafeRawBufferPointer(rebasing: word[1...])
            switch letter {
            case UInt8(ascii: "b"):
                if !Base64.isValid(key) { fail(.keyDecoding) }
            case UInt8(ascii: "N"), UInt8(ascii: "T"), UInt8(ascii: "R"):
                guard let value = Decimal.int64(token) else { fail(.badToken); continue }
                switch letter {
                case UInt8(ascii: "N"): flags.vivify = value
                case UInt8(ascii: "T"): flags.ttl = value
                default: flags.recache = value
                }
            case UInt8(ascii: "O"):
                // memcached's limit counts the letter too.
                if word.count > 32 { opaqueTooLong = true }
            case UInt8(ascii: "F"):
                // flare keeps 32-bit flags and refuses larger ones (memcached truncates them).
                guard let value = Decimal.uint32(token) else { fail(nil); continue }
                flags.clientFlags = value
            case UInt8(ascii: "C"):
                guard let value = Decimal.uint64(token) else { fail(.badToken); continue }
                flags.compareCas = value
            case UInt8(ascii: "M"):
                guard token.count == 1 else { fail(.modeLength); continue }
                flags.mode = token[0]
            case UInt8(ascii: "J"):
                guard let value = Decimal.uint64(token) else { fail(.initialValue); continue }
                flags.initial = value
            case UInt8(ascii: "D"):
                guard let value = Decimal.uint64(token) else { fail(.deltaValue); continue }
                flags.delta = value
            default:
                break
            }
        }
        if failed { return message ?? .badFormat }
        return opaqueTooLong ? .opaqueTooLong : nil
    }
}
