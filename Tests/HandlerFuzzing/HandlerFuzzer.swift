#if canImport(Glibc)
import Glibc
#endif
import Foundation
import FlareNet

/// A deterministic mutation fuzzer for the command handlers of a running daemon (in this process):
/// each input is a byte stream sent on a fresh connection that the daemon's `Server` adopts (a
/// socket pair, so no TCP set-up), then the sending side is shut; the daemon must answer and close.
///
/// Properties, checked for every input:
///  1. no trap: the daemon runs in this process, so a trap ends the run with the input printed first
///     (`FLARE_FUZZ_TRACE=1` prints each input before it is sent);
///  2. no hang: the connection reaches EOF within `hangSeconds`;
///  3. the connection state stays valid: the replies are well framed (every line ends with CR LF and
///     starts with a reply word the protocol has; a `VALUE` line's data block has its declared length
///     and CR LF), and, after every `checkEvery` inputs, the daemon's open connections are back to the
///     baseline and a fresh connection still answers `version` (plus the caller's `invariant`).
///
/// Inputs come from the regression corpus (`Tests/FuzzCorpus/handlers/<daemon>`), a grammar of the
/// daemon's commands with hostile numbers, and mutations of both (byte flips, token insertion,
/// truncation, splicing, number replacement). The generator is a SplitMix64 seeded by
/// `FLARE_FUZZ_SEED`, so a run is repeatable.
public struct HandlerFuzzer {
    public struct Target {
        public let name: String
        public let server: Server
        /// Command words and whole requests the grammar draws from.
        public let commands: [String]
        /// Words that may begin a reply line.
        public let replyWords: [String]
        /// Peers to pose as (`ip:port`), drawn at random for each input.
        public let peers: [String]
        /// Checked with the other invariants; returns a description of what is wrong, or nil.
        public var invariant: () -> String? = { nil }
        /// Rewrites an input the harness must not send as is (documented where it is used).
        public var sanitize: ([UInt8]) -> [UInt8] = { $0 }
        /// Run between checks, e.g. to keep the store or the map small; it may send requests.
        public var housekeeping: (_ send: (String) -> String) -> Void = { _ in }

        public init(name: String, server: Server, commands: [String], replyWords: [String], peers: [String]) {
            self.name = name
            self.server = server
            self.commands = commands
            self.replyWords = replyWords
            self.peers = peers
        }
    }

    public struct Finding: Error, CustomStringConvertible {
        public let property: String
        public let input: [UInt8]
        public let reply: [UInt8]
        public init(property: String, input: [UInt8], reply: [UInt8]) {
            self.property = property
            self.input = input
            self.reply = reply
        }
        public var description: String {
            "PROPERTY VIOLATED: \(property)\ninput (\(input.count) bytes): \"\(HandlerFuzzer.show(input))\"\nreply: \"\(HandlerFuzzer.show(Array(reply.prefix(600))))\""
        }
    }

    public struct Summary: CustomStringConvertible {
        public var inputs = 0
        public var bytes = 0
        public var replyBytes = 0
        public var seconds = 0.0
        public var byOrigin: [String: Int] = [:]
        public var description: String {
            let rate = seconds > 0 ? Double(inputs) / seconds : 0
            return "\(inputs) inputs (\(bytes) bytes sent, \(replyBytes) bytes of replies) in \(String(format: "%.1f", seconds)) s, "
                + "\(Int(rate)) inputs/s; origins: \(byOrigin.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))"
        }
    }

    public let target: Target
    let replyWordBytes: [[UInt8]]
    var random: SplitMix64
    var corpus: [[UInt8]]
    public var hangSeconds = 10.0
    var checkEvery = 500
    var maxLength = 1024
    let trace = ProcessInfo.processInfo.environment["FLARE_FUZZ_TRACE"] != nil

    public init(target: Target, seed: UInt64, corpus: [[UInt8]]) {
        self.target = target
        replyWordBytes = target.replyWords.map { Array($0.utf8) }
        random = SplitMix64(seed: seed)
        self.corpus = corpus
    }

    /// Runs the corpus once as each peer (a libFuzzer input chooses its peer), then `inputs`
    /// generated or mutated inputs.
    public mutating func run(inputs: Int) throws -> Summary {
        var summary = Summary()
        let started = Date()
        let baseline = target.server.currentConnections
        for seed in corpus {
            for peer in target.peers { try one(seed, origin: "corpus", peer: peer, &summary) }
        }
        var done = 0
        while done < inputs {
            let (input, origin) = next()
            try one(target.sanitize(input), origin: origin, &summary)
            done += 1
            if done % checkEvery == 0 {
                try checkInvariants(baseline: baseline, last: input)
                target.housekeeping { [self] request in
                    String(decoding: (try? exchange(Array(request.utf8), peer: target.peers[0])) ?? [], as: UTF8.self)
                }
            }
        }
        try checkInvariants(baseline: baseline, last: [])
        summary.seconds = Date().timeIntervalSince(started)
        return summary
    }

    private mutating func one(_ input: [UInt8], origin: String, peer chosen: String? = nil, _ summary: inout Summary) throws {
        if trace { FileHandle.standardError.write(Data("[\(target.name)] \(HandlerFuzzer.show(input))\n".utf8)) }
        let peer = chosen ?? target.peers[random.below(target.peers.count)]
        let reply = try exchange(input, peer: peer)
        if let problem = framingProblem(reply, input: input) { throw Finding(property: problem, input: input, reply: reply) }
        summary.inputs += 1
        summary.bytes += input.count
        summary.replyBytes += reply.count
        summary.byOrigin[origin, default: 0] += 1
    }

    /// Sends `input` on a new adopted connection, half-closes it and reads everything until EOF.
    public func exchange(_ input: [UInt8], peer: String) throws -> [UInt8] {
        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0 else {
            throw Finding(property: "socketpair failed: errno \(errno)", input: input, reply: [])
        }
        let mine = fds[0]
        defer { close(mine) }
        target.server.adopt(connectedSocket: fds[1], peer: peer)
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        let deadline = Date().addingTimeInterval(hangSeconds)
        // Write and read together: a large reply must not block the daemon while we still write.
        var sent = 0
        var shut = false
        while true {
            if !shut && sent == input.count { shutdown(mine, Int32(SHUT_WR)); shut = true }
            var poll = [pollfd(fd: mine, events: Int16(POLLIN) | (shut ? 0 : Int16(POLLOUT)), revents: 0)]
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 {
                throw Finding(property: "no hang: the daemon neither answered nor closed within \(hangSeconds) s", input: input, reply: reply)
            }
            let ready = Glibc.poll(&poll, 1, Int32(min(remaining, 1) * 1000))
            if ready < 0 { if errno == EINTR { continue }; throw Finding(property: "poll failed", input: input, reply: reply) }
            if ready == 0 { continue }
            if poll[0].revents & Int16(POLLOUT) != 0 && !shut {
                let n = input[sent...].withUnsafeBytes { Glibc.send(mine, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n > 0 { sent += n } else if n < 0 && errno != EAGAIN && errno != EINTR { sent = input.count }
            }
            if poll[0].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                let n = read(mine, &buffer, buffer.count)
                if n > 0 {
                    reply.append(contentsOf: buffer[0..<n])
                    if reply.count > 64 << 20 {
                        throw Finding(property: "bounded replies: more than 64 MiB for \(input.count) bytes of input", input: input, reply: reply)
                    }
                } else if n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) {
                    return reply
                }
            }
        }
    }

    /// The replies to `input`: binary packets when the input opens with the binary magic (the
    /// connection speaks the binary protocol from then on), text lines otherwise.
    public func framingProblem(_ reply: [UInt8], input: [UInt8]) -> String? {
        input.first == 0x80 ? binaryFramingProblem(reply) : framingProblem(reply)
    }

    /// Binary replies: whole packets with the response magic, extras and key inside the body.
    public func binaryFramingProblem(_ reply: [UInt8]) -> String? {
        var i = 0
        while i < reply.count {
            guard reply.count - i >= 24 else { return "binary framing: a reply header cut short (\(reply.count - i) bytes)" }
            guard reply[i] == 0x81 else { return "binary framing: reply magic 0x\(String(reply[i], radix: 16)) at byte \(i)" }
            let keyLength = Int(reply[i + 2]) << 8 | Int(reply[i + 3])
            let extrasLength = Int(reply[i + 4])
            let bodyLength = reply[(i + 8)..<(i + 12)].reduce(0) { $0 << 8 | Int($1) }
            guard keyLength + extrasLength <= bodyLength else { return "binary framing: key and extras longer than the body at byte \(i)" }
            guard reply.count - i - 24 >= bodyLength else { return "binary framing: a reply body cut short (\(bodyLength) bytes declared)" }
            i += 24 + bodyLength
        }
        return nil
    }

    /// Reply lines: CR LF terminated, starting with a reply word; data blocks of VALUE lines framed.
    public func framingProblem(_ reply: [UInt8]) -> String? {
        // On bytes, not Strings: this runs on every reply, and under libFuzzer every comparison is traced.
        var i = 0
        while i < reply.count {
            guard let lf = reply[i...].firstIndex(of: 0x0A) else {
                // The daemon closed mid-reply: only acceptable after a refusal that closes.
                let text = String(decoding: reply[i...], as: UTF8.self)
                return "framing: unterminated reply line \"\(text.prefix(80))\""
            }
            guard lf > i, reply[lf - 1] == 0x0D else { return "framing: a reply line not ended by CR LF at byte \(lf)" }
            let line = reply[i..<(lf - 1)]
            i = lf + 1
            guard replyWordBytes.contains(where: { line.starts(with: $0) }) || HandlerFuzzer.isNumber(line)
                    || HandlerFuzzer.isVariableLine(line) else {
                return "framing: unexpected reply line \"\(String(decoding: line, as: UTF8.self).prefix(120))\""
            }
            // A data block follows `VALUE <key> <flags> <bytes> [<cas>]` and meta's `VA <bytes> <flags>*`.
            let value = line.starts(with: "VALUE ".utf8)
            if value || line.starts(with: "VA ".utf8) {
                let text = String(decoding: line, as: UTF8.self)
                let words = text.split(separator: " ", omittingEmptySubsequences: false)
                guard words.count >= (value ? 4 : 2), let length = Int(words[value ? 3 : 1]), length >= 0 else {
                    return "framing: bad \(value ? "VALUE" : "VA") line \"\(text.prefix(120))\""
                }
                guard i + length + 2 <= reply.count else { return "framing: VALUE data block cut short (\(length) bytes declared)" }
                guard reply[i + length] == 0x0D, reply[i + length + 1] == 0x0A else { return "framing: VALUE data block not followed by CR LF" }
                i += length + 2
            }
        }
        return nil
    }

    public func checkInvariants(baseline: Int, last: [UInt8]) throws {
        let deadline = Date().addingTimeInterval(5)
        while target.server.currentConnections > baseline && Date() < deadline { usleep(20) }
        if target.server.currentConnections > baseline {
            throw Finding(property: "connections left open: \(target.server.currentConnections) > baseline \(baseline)", input: last, reply: [])
        }
        let reply = try exchange(Array("version\r\n".utf8), peer: target.peers[0])
        guard String(decoding: reply, as: UTF8.self).hasPrefix("VERSION ") else {
            throw Finding(property: "a fresh connection does not answer version", input: last, reply: reply)
        }
        if let problem = target.invariant() { throw Finding(property: problem, input: last, reply: []) }
    }

    // MARK: Inputs

    static let numbers = ["0", "1", "-1", "2", "10", "255", "256", "65535", "65536", "999999", "1000000", "2592000", "2592001",
                          "2147483646", "2147483647", "2147483648", "-2147483648", "-2147483649", "4294967295", "4294967296",
                          "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
                          "18446744073709551615", "18446744073709551616", "99999999999999999999999", "007", "+1", "1e3",
                          "0x10", "", "-", "--1", "1-", " 1"]
    static let keys = ["k", "key", "a", "k0", "k1", "n", "\u{7f}", "x\u{01}y", String(repeating: "k", count: 300), "<a:1>k", "k\r"]
    static let trailers = ["", " noreply", " sync", " async", " noreply sync", " extra", " 0"]

    private mutating func number() -> String { Self.numbers[random.below(Self.numbers.count)] }
    private mutating func key() -> String { Self.keys[random.below(Self.keys.count)] }
    private mutating func trailer() -> String { Self.trailers[random.below(Self.trailers.count)] }

    /// One request from the grammar: a command word followed by 0–5 arguments drawn from keys and
    /// numbers, sometimes a data block whose length is right, wrong or absent.
    private mutating func request() -> [UInt8] {
        let word = target.commands[random.below(target.commands.count)]
        // Whole multi-line requests (a `node sync` with its map) are sent as they are.
        if word.contains("\r\n") { return Array(word.utf8) }
        var line = word
        for _ in 0..<random.below(6) {
            line += " " + (random.below(3) == 0 ? key() : number())
        }
        if random.below(4) == 0 { line += trailer() }
        var bytes = Array(line.utf8) + (random.below(10) == 0 ? [0x0A] : [0x0D, 0x0A])
        if ["set", "add", "replace", "append", "prepend", "cas"].contains(where: { word.hasSuffix($0) }) || random.below(8) == 0 {
            let length = random.below(3) == 0 ? random.below(40) : 1
            bytes += (0..<length).map { _ in UInt8(random.below(2) == 0 ? 0x61 : random.below(256)) }
            if random.below(6) != 0 { bytes += [0x0D, 0x0A] }
        }
        return bytes
    }

    private mutating func next() -> ([UInt8], String) {
        switch random.below(10) {
        case 0..<4:
            var stream: [UInt8] = []
            for _ in 0..<(1 + random.below(4)) { stream += request() }
            return (stream, "grammar")
        case 4..<9:
            let base = corpus.isEmpty || random.below(3) == 0 ? request() : corpus[random.below(corpus.count)]
            return (Array(mutate(base).prefix(maxLength)), "mutation")
        default:
            let a = corpus.isEmpty ? request() : corpus[random.below(corpus.count)]
            let b = request()
            let cut = a.isEmpty ? 0 : random.below(a.count + 1)
            return (Array((a[..<cut] + b).prefix(maxLength)), "splice")
        }
    }

    private mutating func mutate(_ input: [UInt8]) -> [UInt8] {
        var bytes = input
        for _ in 0..<(1 + random.below(4)) {
            switch random.below(7) {
            case 0 where !bytes.isEmpty:
                bytes[random.below(bytes.count)] ^= UInt8(1 << random.below(8))
            case 1:
                let token = Array((random.below(2) == 0 ? number() : key()).utf8)
                bytes.insert(contentsOf: token, at: random.below(bytes.count + 1))
            case 2 where !bytes.isEmpty:
                bytes.removeSubrange(random.below(bytes.count)..<bytes.count)
            case 3 where !bytes.isEmpty:
                // Replace a run of digits with another number.
                let start = random.below(bytes.count)
                if let digit = bytes[start...].firstIndex(where: { $0 >= 0x30 && $0 <= 0x39 }) {
                    let end = bytes[digit...].firstIndex(where: { !($0 >= 0x30 && $0 <= 0x39) }) ?? bytes.count
                    bytes.replaceSubrange(digit..<end, with: Array(number().utf8))
                }
            case 4:
                bytes.insert(contentsOf: request(), at: random.below(bytes.count + 1))
            case 5 where !bytes.isEmpty:
                let from = random.below(bytes.count)
                let chunk = bytes[from..<min(bytes.count, from + 1 + random.below(16))]
                bytes.insert(contentsOf: chunk, at: random.below(bytes.count + 1))
            default:
                bytes.insert(contentsOf: [0x0D, 0x0A], at: random.below(bytes.count + 1))
            }
        }
        return bytes
    }

    // MARK: Helpers

    static func isNumber(_ line: ArraySlice<UInt8>) -> Bool { !line.isEmpty && line.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }

    /// `show variables` lines: `name:`, padding, value.
    static func isVariableLine(_ line: ArraySlice<UInt8>) -> Bool {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex else { return false }
        return line[..<colon].allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "("), UInt8(ascii: ")"): true
            default: false
            }
        }
    }

    public static func show(_ bytes: [UInt8]) -> String {
        var shown = ""
        for byte in bytes {
            switch byte {
            case 0x0D: shown += "\\r"
            case 0x0A: shown += "\\n"
            case 0x5C: shown += "\\\\"
            case 0x22: shown += "\\\""
            case 0x20..<0x7F: shown += String(UnicodeScalar(byte))
            default: shown += String(format: "\\x%02x", byte)
            }
        }
        return shown
    }

    /// Reads a corpus directory: one input per file, `\r`, `\n`, `\\` and `\xHH` escapes allowed so
    /// that the files stay readable text.
    public static func corpus(at directory: URL) -> [[UInt8]] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path))?.sorted() ?? []
        return names.compactMap { name in
            guard let text = try? String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8) else { return nil }
            return unescape(text.hasSuffix("\n") ? String(text.dropLast()) : text)
        }
    }

    public static func unescape(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0x5C, i + 1 < bytes.count {
                switch bytes[i + 1] {
                case UInt8(ascii: "r"): out.append(0x0D); i += 2; continue
                case UInt8(ascii: "n"): out.append(0x0A); i += 2; continue
                case 0x5C: out.append(0x5C); i += 2; continue
                case 0x22: out.append(0x22); i += 2; continue
                case UInt8(ascii: "x") where i + 3 < bytes.count:
                    if let value = UInt8(String(decoding: bytes[(i + 2)...(i + 3)], as: UTF8.self), radix: 16) {
                        out.append(value); i += 4; continue
                    }
                default: break
                }
            }
            out.append(bytes[i])
            i += 1
        }
        return out
    }
}

/// A small, fast, repeatable pseudo-random generator.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ bound: Int) -> Int { bound <= 1 ? 0 : Int(next() % UInt64(bound)) }
}
