// Coverage-guided fuzz target for `RequestParser` (scripts/fuzz-parser; docs/fuzz-and-soak.md).
//
// Not part of the SwiftPM package: scripts/fuzz-parser compiles this file together with
// Sources/FlareProtocol/*.swift in one swiftc invocation (`-sanitize=fuzzer,address`), so the parser's
// internals are visible here without `import FlareProtocol`.
//
// Every input is run as a pipelined byte stream through the parser under two sets of limits (the
// daemon's defaults and tiny ones that make every limit reachable), the way a connection drives it:
// parse the unconsumed rest, drop what was consumed, skip `swallow` bytes, stop on `close`.
// Properties checked (any violation traps, and libFuzzer saves the input):
//   1. request/invalid/tooLarge consume 1...input bytes; `.needMore(atLeast:)` asks for more than the
//      input holds (or 0 = "unknown");
//   2. every slice of a `.request` (line, key, value, proxy path, arguments) lies inside the consumed bytes;
//   3. a storage `.request` has a value of exactly the declared length, right after the request line,
//      followed by CR LF in the input;
//   4. keys of requests (and of `.tooLarge`) satisfy `isValidKey` and an independent key check;
//   5. the input fed one byte at a time (a connection buffer that grows) gives the same sequence of
//      results as the input fed whole, ends at the same offset, and a `.needMore(atLeast: k)` holds:
//      parsing the same bytes with fewer than k available never returns anything but `.needMore`;
//   6. the parser never reads outside the bytes it is given: each call sees an exactly-sized heap
//      copy, so AddressSanitizer reports any over- or under-read.
// The same input also goes through the binary-protocol parser (BinaryParserFuzz.swift).
#if canImport(Glibc)
import Glibc
#endif

private let limitSets: [ParserLimits] = [
    ParserLimits(),
    ParserLimits(maxKeyLength: 12, maxValueSize: 40, maxLineLength: 48),
]

/// The result of one parse call, reduced to comparable values; offsets are absolute in the stream.
struct Outcome: Equatable, CustomStringConvertible {
    var at: Int
    var text: String
    var consumed: Int
    var swallow: Int
    var close: Bool
    var description: String { "@\(at) \(text) consumed=\(close ? "-(closes)" : String(consumed)) swallow=\(swallow)" }

    /// A result that closes the connection ends the stream: how much of it was "consumed" depends
    /// only on how much had arrived (`.binaryProtocol` and `.lineTooLong` take all of it).
    static func == (a: Outcome, b: Outcome) -> Bool {
        a.at == b.at && a.text == b.text && a.close == b.close && (a.close || (a.consumed == b.consumed && a.swallow == b.swallow))
    }
}

func fail(_ message: String, _ stream: UnsafeRawBufferPointer) -> Never {
    var shown = ""
    for byte in stream.prefix(512) {
        switch byte {
        case 0x0D: shown += "\\r"
        case 0x0A: shown += "\\n"
        case 0x5C: shown += "\\\\"
        case 0x20..<0x7F: shown += String(UnicodeScalar(byte))
        default:
            let hex = String(byte, radix: 16)
            shown += "\\x" + (hex.count == 1 ? "0" + hex : hex)
        }
    }
    fputs("\nPROPERTY VIOLATED: \(message)\ninput (\(stream.count) bytes): \"\(shown)\"\(stream.count > 512 ? "…" : "")\n", stderr)
    fflush(stderr)
    abort()
}

func bytesText(_ p: UnsafeRawBufferPointer) -> String {
    var s = "\""
    for b in p { s += (b >= 0x20 && b < 0x7F && b != 0x22) ? String(UnicodeScalar(b)) : "\\x\(String(b, radix: 16))" }
    return s + "\""
}

/// Words separated by spaces, independent of the parser's Tokenizer.
private func words(_ line: UnsafeRawBufferPointer) -> [UnsafeRawBufferPointer] {
    var out: [UnsafeRawBufferPointer] = []
    var i = 0
    while i < line.count {
        if line[i] == 0x20 { i += 1; continue }
        let start = i
        while i < line.count && line[i] != 0x20 { i += 1 }
        out.append(UnsafeRawBufferPointer(rebasing: line[start..<i]))
    }
    return out
}

private func independentKeyCheck(_ key: UnsafeRawBufferPointer, _ limits: ParserLimits) -> Bool {
    guard key.count >= 1, key.count <= limits.maxKeyLength else { return false }
    return key.allSatisfy { $0 > 0x20 && $0 != 0x7F }
}

/// Checks one parse call's result against properties 1–4 and reduces it to an `Outcome`.
private func check(_ result: ParseResult, input: UnsafeRawBufferPointer, at: Int, parser: RequestParser,
                   stream: UnsafeRawBufferPointer) -> Outcome? {
    let base = input.baseAddress
    func offset(of slice: UnsafeRawBufferPointer, within limit: Int, _ what: String) -> Int {
        if slice.count == 0 { return 0 }
        guard let b = base, let s = slice.baseAddress else { fail("\(what): slice without base", stream) }
        let start = b.distance(to: s)
        guard start >= 0, start + slice.count <= limit else {
            fail("\(what) [\(start), \(start + slice.count)) lies outside the consumed bytes [0, \(limit))", stream)
        }
        return start
    }
    func keyOK(_ key: UnsafeRawBufferPointer, _ what: String) {
        guard parser.isValidKey(key), independentKeyCheck(key, parser.limits) else {
            fail("\(what): invalid key \(bytesText(key)) in a result", stream)
        }
    }
    switch result {
    case .needMore(let atLeast):
        guard atLeast == 0 || atLeast > input.count else {
            fail(".needMore(atLeast: \(atLeast)) with \(input.count) bytes already available", stream)
        }
        return nil
    case .invalid(let error, let consumed, let swallow, let silent, let close):
        guard consumed >= 1, consumed <= input.count else {
            fail(".invalid(\(error)) consumed \(consumed) of \(input.count) bytes", stream)
        }
        guard swallow >= 0 else { fail(".invalid(\(error)) with negative swallow \(swallow)", stream) }
        return Outcome(at: at, text: "invalid \(error) silent=\(silent)", consumed: consumed, swallow: swallow, close: close)
    case .tooLarge(let key, let consumed, let swallow, let silent):
        guard consumed >= 1, consumed <= input.count else {
            fail(".tooLarge consumed \(consumed) of \(input.count) bytes", stream)
        }
        _ = offset(of: key, within: consumed, "tooLarge key")
        keyOK(key, ".tooLarge")
        guard swallow > parser.limits.maxValueSize + 2 else {
            fail(".tooLarge swallows \(swallow) bytes, within the value limit \(parser.limits.maxValueSize)", stream)
        }
        return Outcome(at: at, text: "tooLarge key=\(bytesText(key)) silent=\(silent)", consumed: consumed, swallow: swallow, close: false)
    case .request(let request, let consumed):
        guard consumed >= 1, consumed <= input.count, let base else {
            fail(".request(\(request.command)) consumed \(consumed) of \(input.count) bytes", stream)
        }
        let lineStart = offset(of: request.line, within: consumed, "line")
        guard request.line.count == 0 || lineStart == 0 else { fail("request line does not start the input", stream) }
        guard !request.line.contains(0x0A) else { fail("request line contains LF", stream) }
        _ = offset(of: request.key, within: consumed, "key")
        _ = offset(of: request.proxyPath, within: consumed, "proxy path")
        _ = offset(of: request.arguments.line, within: consumed, "arguments")
        // The request line is everything before the first LF (minus one CR).
        let lf = input.firstIndex(of: 0x0A)!
        let expectedLine = lf > 0 && input[lf - 1] == 0x0D ? lf - 1 : lf
        guard request.line.count == expectedLine else {
            fail("line is \(request.line.count) bytes, expected \(expectedLine)", stream)
        }
        var fields = "request \(request.command) line=\(bytesText(request.line)) proxy=\(bytesText(request.proxyPath))"
        fields += " flags=\(request.flags) exptime=\(request.exptime) cas=\(request.casUnique) version=\(request.version)"
        fields += " delta=\(request.delta) number=\(request.number) noreply=\(request.noreply) repl=\(request.replication)"
        switch request.command {
        case .set, .add, .replace, .append, .prepend, .cas:
            keyOK(request.key, "storage")
            var commandLine = request.line
            if request.line.first == UInt8(ascii: "<"), let close = request.line.firstIndex(of: UInt8(ascii: ">")) {
                commandLine = UnsafeRawBufferPointer(rebasing: request.line[(close + 1)...])
            }
            let w = words(commandLine)
            guard w.count >= 5, let declared = Decimal.int64(w[4]) else {
                fail("storage request without a readable length word", stream)
            }
            guard request.value.count == Int(declared) else {
                fail("value is \(request.value.count) bytes, declared \(declared)", stream)
            }
            guard declared <= Int64(parser.limits.maxValueSize) else { fail("value over the limit accepted", stream) }
            let valueStart = request.value.count == 0 ? lf + 1 : base.distance(to: request.value.baseAddress!)
            guard valueStart == lf + 1 else { fail("value starts at \(valueStart), not after the line at \(lf + 1)", stream) }
            let end = valueStart + Int(declared)
            guard consumed == end + 2, input[end] == 0x0D, input[end + 1] == 0x0A else {
                fail("value not followed by CR LF / consumed \(consumed) != \(end + 2)", stream)
            }
            fields += " key=\(bytesText(request.key)) value=\(bytesText(request.value))"
        case .get, .gets, .gat, .gats:
            var keys = request.keys
            var n = 0
            while let key = keys.next() {
                keyOK(key, "\(request.command)")
                if n == 0 && !(key.baseAddress == request.key.baseAddress && key.count == request.key.count) {
                    fail("request.key is not the first key", stream)
                }
                n += 1
            }
            if n == 0 && (request.command == .get || request.command == .gets) { fail("get without keys accepted", stream) }
            fields += " key=\(bytesText(request.key)) keys=\(n)"
            guard consumed == lf + 1 else { fail("consumed \(consumed) != line \(lf + 1)", stream) }
        case .ms:
            // `ms <key> <datalen> <flag>*` + data block.
            keyOK(request.key, "ms")
            var commandLine = request.line
            if request.line.first == UInt8(ascii: "<"), let close = request.line.firstIndex(of: UInt8(ascii: ">")) {
                commandLine = UnsafeRawBufferPointer(rebasing: request.line[(close + 1)...])
            }
            let w = words(commandLine)
            guard w.count >= 3, let declared = Decimal.int64(w[2]), declared >= 0 else {
                fail("ms request without a readable length word", stream)
            }
            guard request.value.count == Int(declared) else {
                fail("ms value is \(request.value.count) bytes, declared \(declared)", stream)
            }
            guard declared <= Int64(parser.limits.maxValueSize) else { fail("ms value over the limit accepted", stream) }
            let valueStart = request.value.count == 0 ? lf + 1 : base.distance(to: request.value.baseAddress!)
            guard valueStart == lf + 1 else { fail("ms value starts at \(valueStart), not after the line at \(lf + 1)", stream) }
            let end = valueStart + Int(declared)
            guard consumed == end + 2, input[end] == 0x0D, input[end + 1] == 0x0A else {
                fail("ms value not followed by CR LF / consumed \(consumed) != \(end + 2)", stream)
            }
            fields += " key=\(bytesText(request.key)) value=\(bytesText(request.value)) meta=\(request.meta.present)"
        case .mg, .md, .ma, .me:
            keyOK(request.key, "\(request.command)")
            fields += " key=\(bytesText(request.key)) meta=\(request.meta.present)"
            guard consumed == lf + 1 else { fail("consumed \(consumed) != line \(lf + 1)", stream) }
        case .delete, .incr, .decr, .touch:
            keyOK(request.key, "\(request.command)")
            fields += " key=\(bytesText(request.key))"
            guard consumed == lf + 1 else { fail("consumed \(consumed) != line \(lf + 1)", stream) }
        default:
            guard consumed == lf + 1 else { fail("consumed \(consumed) != line \(lf + 1)", stream) }
        }
        return Outcome(at: at, text: fields, consumed: consumed, swallow: 0, close: false)
    }
}

/// Parses `stream[from..<to]` from an exactly-sized heap copy (so ASan sees any stray read).
private func parseCopy(_ parser: RequestParser, _ stream: UnsafeRawBufferPointer, from: Int, to: Int,
                       scannedWithoutNewline: Int = 0,
                       _ body: (ParseResult, UnsafeRawBufferPointer) -> Void) {
    let count = to - from
    let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 1)
    defer { copy.deallocate() }
    if count > 0 { copy.baseAddress!.copyMemory(from: stream.baseAddress! + from, byteCount: count) }
    let view = UnsafeRawBufferPointer(start: count > 0 ? copy.baseAddress : nil, count: count)
    body(parser.parse(view, scannedWithoutNewline: scannedWithoutNewline), view)
}

/// Drives the parser over `stream` as a connection would when `available` bytes have arrived so far.
/// Returns the outcomes, and where parsing stands (offset, bytes still to swallow, closed).
private struct StreamState {
    var position = 0
    var swallow = 0
    var closed = false
    var outcomes: [Outcome] = []
    /// The last `.needMore(atLeast:)` at `position`, to check its promise as more bytes arrive.
    var promise: (position: Int, atLeast: Int, available: Int)?
    /// Bytes at `position` a `.needMore(atLeast: 0)` found without a line end, passed back to the
    /// parser as a connection does (so property 5 covers the scan hint too).
    var scanned: (position: Int, count: Int)?

    mutating func advance(_ parser: RequestParser, _ stream: UnsafeRawBufferPointer, available: Int) {
        while !closed {
            if swallow > 0 {
                let dropped = min(swallow, available - position)
                swallow -= dropped
                position += dropped
            }
            guard position < available else { return }
            var progressed = false
            let here = position
            let hint = scanned.map { $0.position == here ? $0.count : 0 } ?? 0
            parseCopy(parser, stream, from: here, to: available, scannedWithoutNewline: hint) { result, view in
                guard let outcome = check(result, input: view, at: here, parser: parser, stream: stream) else {
                    if case .needMore(let atLeast) = result, atLeast > 0 { promise = (here, atLeast, available - here) }
                    if case .needMore(0) = result { scanned = (here, available - here) }
                    return
                }
                scanned = nil
                if let p = promise, p.position == here, available - here < p.atLeast {
                    fail("after .needMore(atLeast: \(p.atLeast)) with \(p.available) bytes at \(here), "
                         + "\(available - here) bytes gave \(outcome)", stream)
                }
                promise = nil
                outcomes.append(outcome)
                position += outcome.consumed
                swallow += outcome.swallow
                closed = outcome.close
                progressed = true
            }
            if !progressed { return }
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequestParser(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let stream = UnsafeRawBufferPointer(start: size > 0 ? UnsafeRawPointer(data) : nil, count: size)
    for limits in limitSets {
        checkBinaryParser(stream, limits: limits)  // BinaryParserFuzz.swift
        let parser = RequestParser(limits: limits)
        var whole = StreamState()
        whole.advance(parser, stream, available: size)
        var grown = StreamState()
        for available in 0...size {
            grown.advance(parser, stream, available: available)
            if grown.closed { break }
        }
        guard whole.outcomes == grown.outcomes else {
            var diff = "fed whole vs one byte at a time (limits key \(limits.maxKeyLength), value \(limits.maxValueSize), line \(limits.maxLineLength)):\n"
            for i in 0..<max(whole.outcomes.count, grown.outcomes.count) {
                let a = i < whole.outcomes.count ? whole.outcomes[i].description : "—"
                let b = i < grown.outcomes.count ? grown.outcomes[i].description : "—"
                diff += (a == b ? "   " : " ≠ ") + "whole: \(a)\n   bytewise: \(b)\n"
            }
            fail(diff, stream)
        }
        if !whole.closed {
            guard whole.position == grown.position, whole.swallow == grown.swallow else {
                fail("fed whole ends at \(whole.position) (swallow \(whole.swallow)), "
                     + "one byte at a time at \(grown.position) (swallow \(grown.swallow))", stream)
            }
        }
    }
    return 0
}

#if FUZZ_STANDALONE
// Fallback driver for toolchains without libFuzzer (scripts/fuzz-parser uses it only then): deterministic
// random mutations of the corpus files, no coverage feedback. Usage: <binary> <seconds> <corpus-dir> <crash-file>
@main
struct StandaloneDriver {
    static func main() {
        let args = CommandLine.arguments
        let seconds = args.count > 1 ? Double(args[1]) ?? 60 : 60
        let corpusDir = args.count > 2 ? args[2] : "Tests/FuzzCorpus/parser"
        let crashFile = args.count > 3 ? args[3] : "crash-standalone"
        var seeds: [[UInt8]] = []
        if let dir = opendir(corpusDir) {
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                if name.hasPrefix(".") { continue }
                if let f = fopen(corpusDir + "/" + name, "rb") {
                    var bytes: [UInt8] = []
                    var buf = [UInt8](repeating: 0, count: 4096)
                    while true { let n = fread(&buf, 1, buf.count, f); if n <= 0 { break }; bytes += buf[0..<n] }
                    fclose(f)
                    seeds.append(bytes)
                }
            }
            closedir(dir)
        }
        if seeds.isEmpty { seeds = [Array("get k\r\n".utf8)] }
        var rng: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng }
        let dictionary = ["set", "get", "cas", "<a:1>", "noreply", " ", "\r\n", "\n", "\r", "0", "-1", "4294967296",
                          "2147483646", "sync", "async", "delete", "incr", "gat", "\u{80}"].map { Array($0.utf8) }
        let start = time(nil)
        var runs = 0
        while Double(time(nil) - start) < seconds {
            var input = seeds[Int(next() % UInt64(seeds.count))]
            for _ in 0..<(1 + Int(next() % 6)) {
                let pos = input.isEmpty ? 0 : Int(next() % UInt64(input.count + 1))
                switch next() % 5 {
                case 0: if !input.isEmpty && pos < input.count { input[pos] = UInt8(truncatingIfNeeded: next()) }
                case 1: if pos < input.count { input.remove(at: pos) }
                case 2: input.insert(contentsOf: dictionary[Int(next() % UInt64(dictionary.count))], at: pos)
                case 3: input += seeds[Int(next() % UInt64(seeds.count))]
                default: if pos < input.count { input.insert(input[pos], at: pos) }
                }
            }
            if let f = fopen(crashFile, "wb") { fwrite(input, 1, input.count, f); fclose(f) }
            _ = input.withUnsafeBufferPointer { fuzzRequestParser($0.baseAddress, $0.count) }
            runs += 1
        }
        remove(crashFile)
        print("standalone driver: \(runs) inputs in \(Int(seconds)) s, no finding")
    }
}
#endif
