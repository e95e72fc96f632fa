// The binary-protocol half of the parser fuzz target (scripts/fuzz-parser compiles it with
// RequestParserFuzz.swift, whose entry point calls `checkBinaryParser` for every input).
//
// The input is also run as a binary request stream through `BinaryRequestParser`, fed whole and
// one byte at a time, under the same two sets of limits. Properties (a violation traps):
//   B1. request/refused/tooLarge consume 1...input bytes; `.needMore(atLeast:)` asks for more than
//       the input holds, and never for more than one packet within the limits;
//   B2. a `.request` consumes exactly header + body, and its extras, key and value lie back to back
//       right after the header, sized as the header says and within the limits;
//   B3. `.tooLarge` is only for a value over the limit and skips exactly the rest of it;
//   B4. `.badMagic` only when the first byte is not 0x80;
//   B5. fed whole and fed one byte at a time give the same outcomes.

private struct BinaryStream {
    var position = 0
    var swallow = 0
    var closed = false
    var outcomes: [String] = []

    mutating func advance(_ parser: BinaryRequestParser, _ stream: UnsafeRawBufferPointer, available: Int) {
        while !closed {
            if swallow > 0 {
                let dropped = min(swallow, available - position)
                swallow -= dropped
                position += dropped
            }
            guard position < available else { return }
            let count = available - position
            let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 1)
            defer { copy.deallocate() }
            copy.baseAddress!.copyMemory(from: stream.baseAddress! + position, byteCount: count)
            let input = UnsafeRawBufferPointer(copy)
            let limits = parser.limits
            let packetLimit = BinaryProtocol.headerLength + 255 + limits.maxKeyLength + limits.maxValueSize
            func consumedOK(_ consumed: Int, _ what: String) {
                guard consumed >= 1, consumed <= input.count else {
                    fail("binary \(what) consumed \(consumed) of \(input.count) bytes", stream)
                }
            }
            switch parser.parse(input) {
            case .needMore(let atLeast):
                guard atLeast > input.count, atLeast <= packetLimit else {
                    fail("binary .needMore(atLeast: \(atLeast)) with \(input.count) bytes (packet limit \(packetLimit))", stream)
                }
                return
            case .badMagic:
                guard input[0] != BinaryProtocol.requestMagic else { fail("binary .badMagic on 0x80", stream) }
                outcomes.append("@\(position) badMagic")
                closed = true
            case .refused(let header, let status, let consumed, let swallow, let close):
                consumedOK(consumed, "refusal")
                guard swallow >= 0 else { fail("binary refusal with negative swallow", stream) }
                outcomes.append("@\(position) refused op=\(header.opcode.rawValue) status=\(status.rawValue) close=\(close)")
                if close { closed = true } else {
                    position += consumed
                    self.swallow += swallow
                }
            case .tooLarge(let header, let key, let consumed, let swallow):
                consumedOK(consumed, "tooLarge")
                guard header.valueLength > limits.maxValueSize,
                      consumed + swallow == BinaryProtocol.headerLength + header.bodyLength,
                      key.count == header.keyLength else {
                    fail("binary .tooLarge: value \(header.valueLength), consumed \(consumed) + swallow \(swallow)", stream)
                }
                outcomes.append("@\(position) tooLarge op=\(header.opcode.rawValue) key=\(bytesText(key))")
                position += consumed
                self.swallow += swallow
            case .request(let request, let consumed):
                consumedOK(consumed, "request")
                let h = request.header
                let base = input.baseAddress!
                func at(_ slice: UnsafeRawBufferPointer) -> Int {
                    slice.count == 0 ? -1 : base.distance(to: slice.baseAddress!)
                }
                guard consumed == BinaryProtocol.headerLength + h.bodyLength,
                      request.extras.count == h.extrasLength, request.key.count == h.keyLength,
                      request.extras.count + request.key.count + request.value.count == h.bodyLength,
                      request.extras.count == 0 || at(request.extras) == BinaryProtocol.headerLength,
                      request.key.count == 0 || at(request.key) == BinaryProtocol.headerLength + h.extrasLength,
                      request.value.count == 0 || at(request.value) == BinaryProtocol.headerLength + h.extrasLength + h.keyLength,
                      h.keyLength <= limits.maxKeyLength, request.value.count <= limits.maxValueSize else {
                    fail("binary request slices do not match its header (consumed \(consumed))", stream)
                }
                outcomes.append("@\(position) request \(request.command) quiet=\(request.quiet) key=\(bytesText(request.key)) value=\(request.value.count)")
                position += consumed
            }
        }
    }
}

func checkBinaryParser(_ stream: UnsafeRawBufferPointer, limits: ParserLimits) {
    guard stream.count > 0 else { return }
    let parser = BinaryRequestParser(limits: limits)
    var whole = BinaryStream()
    whole.advance(parser, stream, available: stream.count)
    var grown = BinaryStream()
    for available in 1...stream.count {
        grown.advance(parser, stream, available: available)
        if grown.closed { break }
    }
    guard whole.outcomes == grown.outcomes else {
        fail("binary: fed whole \(whole.outcomes) vs one byte at a time \(grown.outcomes)", stream)
    }
}
