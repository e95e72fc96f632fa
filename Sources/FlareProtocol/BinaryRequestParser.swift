/// One binary request, its body sliced in place from the connection's read buffer (valid only
/// until the connection consumes it).
public struct BinaryRequest {
    public var header: BinaryHeader
    public var command: BinaryCommand
    /// A quiet opcode: no reply on success (and none for a get miss); errors are still sent.
    public var quiet: Bool
    public var extras: UnsafeRawBufferPointer
    public var key: UnsafeRawBufferPointer
    public var value: UnsafeRawBufferPointer

    /// set/add/replace: the flags extra.
    public var flags: UInt32 { extras.count >= 4 ? extras.bigEndian(UInt32.self, at: 0) : 0 }
    /// set/add/replace: the expiration after the flags; touch/gat/flush: the only extra.
    public var expiration: UInt32 {
        switch command {
        case .set, .add, .replace: extras.count >= 8 ? extras.bigEndian(UInt32.self, at: 4) : 0
        case .increment, .decrement: extras.count >= 20 ? extras.bigEndian(UInt32.self, at: 16) : 0
        default: extras.count >= 4 ? extras.bigEndian(UInt32.self, at: 0) : 0
        }
    }
    /// incr/decr: the amount.
    public var delta: UInt64 { extras.count >= 8 ? extras.bigEndian(UInt64.self, at: 0) : 0 }
    /// incr/decr: the value a missing counter is created with (unless the expiration says not to).
    public var initial: UInt64 { extras.count >= 16 ? extras.bigEndian(UInt64.self, at: 8) : 0 }
}

public enum BinaryParseResult {
    /// A complete request in the first `consumed` bytes.
    case request(BinaryRequest, consumed: Int)
    /// Nothing can be done before the input holds at least `atLeast` bytes.
    case needMore(atLeast: Int)
    /// Refused: answer `status` to `header` (unless the header is a quiet form's and the status
    /// is a get miss — never the case here), drop `consumed` bytes, then discard the next `swallow`
    /// bytes as they arrive; `close` ends the connection after the answer.
    case refused(BinaryHeader, BinaryStatus, consumed: Int, swallow: Int, close: Bool)
    /// A value over the item size limit: `tooLarge` is answered, the value skipped as it arrives
    /// (never buffered), and for a set the key's old value is dropped, as memcached does.
    case tooLarge(BinaryHeader, key: UnsafeRawBufferPointer, consumed: Int, swallow: Int)
    /// Not a request at all (wrong magic): memcached closes without a word.
    case badMagic
}

/// Parses binary-protocol requests in place, with the same limits as the text parser.
///
/// The checks are memcached 1.6's, in its order: the magic; key and extras that do not fit the
/// body (unknown command, close); a key longer than the limit or extras, key or body of the wrong
/// size for the command (invalid arguments, close); a value over the item size limit (too large,
/// value skipped). Unknown opcodes are answered and their body skipped. A body is only ever
/// buffered once its size is known to be within these limits.
public struct BinaryRequestParser: Sendable {
    public var limits: ParserLimits

    public init(limits: ParserLimits = ParserLimits()) {
        self.limits = limits
    }

    public func parse(_ input: UnsafeRawBufferPointer) -> BinaryParseResult {
        guard input.count >= BinaryProtocol.headerLength else {
            if let first = input.first, first != BinaryProtocol.requestMagic { return .badMagic }
            return .needMore(atLeast: BinaryProtocol.headerLength)
        }
        let header = BinaryHeader(input)
        guard header.magic == BinaryProtocol.requestMagic else { return .badMagic }
        let headerLength = BinaryProtocol.headerLength
        let keyLength = header.keyLength, extrasLength = header.extrasLength, bodyLength = header.bodyLength
        guard keyLength + extrasLength <= bodyLength else {
            return .refused(header, .unknownCommand, consumed: input.count, swallow: 0, close: true)
        }
        let (command, quiet) = BinaryCommand.decode(header.opcode)
        let prefix = headerLength + extrasLength + keyLength
        if command == .unknown {
            // Answered without looking at the body, which is skipped — unless it is too big to be
            // anything but garbage, then the stream is out of step and the connection goes.
            let close = bodyLength > limits.maxValueSize + limits.maxKeyLength + 256
            let skip = close ? 0 : bodyLength
            let now = min(skip, input.count - headerLength)
            return .refused(header, .unknownCommand, consumed: headerLength + now, swallow: skip - now, close: close)
        }
        guard keyLength <= limits.maxKeyLength, hasValidShape(command, header) else {
            return .refused(header, .invalidArguments, consumed: input.count, swallow: 0, close: true)
        }
        if command.storesValue && header.valueLength > limits.maxValueSize {
            guard input.count >= prefix else { return .needMore(atLeast: prefix) }
            let key = UnsafeRawBufferPointer(rebasing: input[(headerLength + extrasLength)..<prefix])
            let value = header.valueLength
            let now = min(value, input.count - prefix)
            return .tooLarge(header, key: key, consumed: prefix + now, swallow: value - now)
        }
        let total = headerLength + bodyLength
        guard input.count >= total else { return .needMore(atLeast: total) }
        let request = BinaryRequest(
            header: header, command: command, quiet: quiet,
            extras: UnsafeRawBufferPointer(rebasing: input[headerLength..<(headerLength + extrasLength)]),
            key: UnsafeRawBufferPointer(rebasing: input[(headerLength + extrasLength)..<prefix]),
            value: UnsafeRawBufferPointer(rebasing: input[prefix..<total]))
        return .request(request, consumed: total)
    }

    /// memcached's size rules per command: which may have a key, extras and a value, and how long.
    private func hasValidShape(_ command: BinaryCommand, _ h: BinaryHeader) -> Bool {
        let extras = h.extrasLength, key = h.keyLength, body = h.bodyLength
        switch command {
        case .get, .getk, .delete:
            return extras == 0 && key > 0 && body == key
        case .set, .add, .replace:
            return extras == 8 && key > 0
        case .append, .prepend:
            return extras == 0 && key > 0
        case .increment, .decrement:
            return extras == 20 && key > 0 && body == key + extras
        case .touch, .gat, .gatk:
            return extras == 4 && key > 0 && body == key + extras
        case .flush:
            return key == 0 && (extras == 0 || extras == 4) && body == extras
        case .noop, .version, .quit:
            return extras == 0 && key == 0 && body == 0
        case .stat:
            return extras == 0 && body == key
        case .unknown:
            return true
        }
    }
}

extension Request {
    /// A request built rather than parsed (a binary request's text twin, a touch's copy): a
    /// client's, so without a proxy path. `key` is also the arguments (`stats` reads its group there).
    public init(command: Command, key: UnsafeRawBufferPointer) {
        self.init(command: command, line: key, arguments: Tokenizer(key))
        self.key = key
    }
}
