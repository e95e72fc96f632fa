#if canImport(Glibc)
import Glibc
#endif
import FlareCluster
import FlareNet
import FlareProtocol

/// The shape of a reply a forwarded request waits for.
enum ReplyShape {
    /// One line: STORED, DELETED, a number, SERVER_ERROR …
    case line
    /// VALUE blocks up to END (get, gets, gat, gats), or a single error line.
    case values
    /// A meta command's reply: one line, or `VA <size> …` and its data block.
    case meta
    /// Meta replies up to and including `MN` (a quiet meta request followed by `mn`).
    case metaUntilNoop
}

/// A complete reply from a peer: its bytes (valid only during the completion call) and, for a
/// `.values` reply, the number of `VALUE` blocks it holds (counted while framing it).
struct PeerReply {
    let bytes: UnsafeRawBufferPointer
    let values: Int
}

/// A reply passed on into a client connection's reply slot by the node handler (`ReplyRelay`):
/// the common forwards, described by data so that they allocate no closure per request.
struct Relay {
    enum Kind {
        /// A single-key write (or gat/gats): the reply verbatim, `SERVER_ERROR proxy error` if none.
        case write
        /// A get/gets of `keys` keys on one owner: the reply verbatim, misses if none.
        case retrieval(keys: UInt64)
    }

    let connection: Connection
    let slot: Connection.ReplySlot
    let kind: Kind
}

/// Who passes `Relay` replies on: the worker's node handler.
protocol ReplyRelay: AnyObject {
    func relay(_ result: Result<PeerReply, PeerFailure>, _ relay: Relay)
}

/// One pipelined connection from this worker to another node, with the replies it still owes.
/// Requests are answered in order, so a FIFO of waiters matches replies to requests.
/// Used on its worker's thread only.
final class PeerLink: OutboundDelegate {
    typealias Completion = (Result<PeerReply, PeerFailure>) -> Void

    enum Action {
        case relay(Relay)
        case call(Completion)
    }

    struct Waiter {
        let shape: ReplyShape
        let sentAt: Int64
        let action: Action
    }

    let nodeKey: String
    private let connection: OutboundConnection
    private var waiters: [Waiter] = []
    private var head = 0
    private let clock: ServerClock
    /// How far the oldest reply has been framed: a large multi-get reply arriving in several
    /// reads is scanned once, not again from its start on every read.
    private var framing = ReplyFraming.Progress()
    private(set) var failed = false
    /// What `stats threads` shows of this link.
    let stats: PeerLinkStats
    /// unowned(unsafe): the node handler outlives its worker's links; read on every reply.
    private unowned(unsafe) let relay: ReplyRelay

    init(node: NodeEntry, worker: Worker, relay: ReplyRelay, connectTimeoutMilliseconds: Int) {
        self.relay = relay
        let nodeKey = node.nodeKey
        let host = node.name
        let port = node.port
        self.nodeKey = nodeKey
        self.clock = worker.server.clock
        stats = PeerLinkStats(id: worker.server.allocateID(), peer: nodeKey, threadType: node.threadType,
                              openedAt: worker.server.clock.now)
        connection = OutboundConnection(host: host, port: port, worker: worker)
        connection.delegate = self
        connection.connect(timeoutMilliseconds: connectTimeoutMilliseconds)
    }

    var output: ReplyBuffer { connection.output }
    var outstanding: Int { waiters.count - head }

    /// Registers the waiter for the request just appended to `output`; it is sent at the end of
    /// the loop turn with every other request for this link.
    func expect(_ shape: ReplyShape, _ completion: @escaping Completion) {
        expect(shape, .call(completion))
    }

    /// Registers a request whose reply the node handler passes on into a client's slot.
    func expect(_ shape: ReplyShape, relay: Relay) {
        expect(shape, .relay(relay))
    }

    private func expect(_ shape: ReplyShape, _ action: Action) {
        waiters.append(Waiter(shape: shape, sentAt: clock.now, action: action))
        publishQueue()
        connection.flushAtTurnEnd()
    }

    /// Sends a request that has no reply (noreply), with the others of this loop turn.
    func sendWithoutReply() { connection.flushAtTurnEnd() }

    /// Age in seconds of the oldest unanswered request (0 if none).
    func oldestWait(now: Int64) -> Int64 {
        head < waiters.count ? now - waiters[head].sentAt : 0
    }

    func fail(_ reason: String) { connection.fail(reason) }

    private func publishQueue() {
        stats.outstanding.store(waiters.count - head, ordering: .relaxed)
        stats.oldestSentAt.store(head < waiters.count ? waiters[head].sentAt : 0, ordering: .relaxed)
    }

    private func complete(_ waiter: Waiter, _ result: Result<PeerReply, PeerFailure>) {
        switch waiter.action {
        case .relay(let target): relay.relay(result, target)
        case .call(let completion): completion(result)
        }
    }

    // MARK: OutboundDelegate

    func outbound(_ connection: OutboundConnection, received input: UnsafeRawBufferPointer) -> Int {
        guard head < waiters.count else {
            // A reply nobody asked for: the stream is out of step, so drop the link.
            connection.fail("unexpected reply from \(nodeKey)")
            return input.count
        }
        guard let length = ReplyFraming.length(of: waiters[head].shape, in: input, progress: &framing) else { return 0 }
        let values = framing.values
        framing = ReplyFraming.Progress()
        let waiter = waiters[head]
        head += 1
        if head == waiters.count { waiters.removeAll(keepingCapacity: true); head = 0 }
        publishQueue()
        complete(waiter, .success(PeerReply(bytes: UnsafeRawBufferPointer(rebasing: input[..<length]), values: values)))
        return length
    }

    func outboundClosed(_ connection: OutboundConnection, reason: String) {
        failed = true
        framing = ReplyFraming.Progress()
        let pending = waiters[head...]
        waiters.removeAll()
        head = 0
        publishQueue()
        for waiter in pending { complete(waiter, .failure(PeerFailure(node: nodeKey, reason: reason))) }
    }
}

struct PeerFailure: Error, CustomStringConvertible {
    let node: String
    let reason: String
    var description: String { "forward to \(node) failed: \(reason)" }
}

/// Where one reply ends in a stream of replies. Hand-written byte scans: this runs for every
/// forwarded reply, and every `VALUE` line of a multi-get.
enum ReplyFraming {
    /// How much of a `.values` reply has been framed: the offset of the first line not yet
    /// read, and the `VALUE` blocks before it.
    struct Progress {
        var offset = 0
        var values = 0
    }

    /// The byte length of the complete reply at the start of `input`, or nil if more is needed.
    static func length(of shape: ReplyShape, in input: UnsafeRawBufferPointer) -> Int? {
        var progress = Progress()
        return length(of: shape, in: input, progress: &progress)
    }

    /// `length(of:in:)`, resuming where an earlier call on a prefix of `input` stopped.
    static func length(of shape: ReplyShape, in input: UnsafeRawBufferPointer, progress: inout Progress) -> Int? {
        switch shape {
        case .line:
            return lineEnd(input, from: 0)
        case .values:
            while true {
                let offset = progress.offset
                guard let end = lineEnd(input, from: offset) else { return nil }
                let line = UnsafeRawBufferPointer(rebasing: input[offset..<end])
                guard isValueLine(line) else { return end }  // END, or an error line that ends the reply
                guard let bytes = valueLength(line) else { return end }  // malformed: stop here
                let next = end + bytes + 2
                guard input.count >= next else { return nil }
                progress.offset = next
                progress.values += 1
            }
        case .meta:
            return metaReplyEnd(input, from: 0)
        case .metaUntilNoop:
            var offset = 0
            while true {
                guard let end = metaReplyEnd(input, from: offset) else { return nil }
                if input[offset...].starts(with: "MN\r\n".utf8) { return end }
                offset = end
            }
        }
    }

    /// Whether `line` starts with `VALUE `.
    @inline(__always)
    static func isValueLine(_ line: UnsafeRawBufferPointer) -> Bool {
        guard line.count >= 6 else { return false }
        return line[0] == 0x56 && line[1] == 0x41 && line[2] == 0x4C && line[3] == 0x55 && line[4] == 0x45 && line[5] == 0x20
    }

    /// Whether `reply` starts with `END`.
    @inline(__always)
    static func isEnd(_ reply: UnsafeRawBufferPointer) -> Bool {
        reply.count >= 3 && reply[0] == 0x45 && reply[1] == 0x4E && reply[2] == 0x44
    }

    /// The end of one meta reply starting at `from`: a line, or `VA <size> …` and its data block.
    private static func metaReplyEnd(_ input: UnsafeRawBufferPointer, from: Int) -> Int? {
        guard let end = lineEnd(input, from: from) else { return nil }
        let line = UnsafeRawBufferPointer(rebasing: input[from..<end])
        guard line.starts(with: "VA ".utf8), let bytes = metaValueLength(line) else { return end }
        let next = end + bytes + 2
        return input.count >= next ? next : nil
    }

    /// The `<size>` of `VA <size> <flags>*\r\n`.
    static func metaValueLength(_ line: UnsafeRawBufferPointer) -> Int? {
        var tokens = Tokenizer(UnsafeRawBufferPointer(rebasing: line[..<(line.count - (line.last == 0x0A ? 1 : 0))]))
        _ = tokens.next()
        guard var word = tokens.next() else { return nil }
        if word.last == 0x0D { word = UnsafeRawBufferPointer(rebasing: word.dropLast()) }
        guard let bytes = Decimal.uint64(word), bytes <= UInt64(Int32.max) else { return nil }
        return Int(bytes)
    }

    /// The number of `VALUE` blocks in a complete `.values` reply.
    static func valueCount(in reply: UnsafeRawBufferPointer) -> Int {
        var count = 0
        var offset = 0
        while let end = lineEnd(reply, from: offset) {
            let line = UnsafeRawBufferPointer(rebasing: reply[offset..<end])
            guard line.starts(with: "VALUE ".utf8), let bytes = valueLength(line) else { break }
            count += 1
            offset = end + bytes + 2
        }
        return count
    }

    /// Index just past the `\n` of the line starting at `from`.
    @inline(__always)
    private static func lineEnd(_ input: UnsafeRawBufferPointer, from: Int) -> Int? {
        guard from < input.count, let base = input.baseAddress else { return nil }
        guard let newline = memchr(base + from, 0x0A, input.count - from) else { return nil }
        return UnsafeRawPointer(newline) - base + 1
    }

    /// The `<bytes>` field of `VALUE <key> <flags> <bytes> [<cas>]\r\n` (words separated by one or
    /// more spaces; the line terminator optional).
    static func valueLength(_ line: UnsafeRawBufferPointer) -> Int? {
        var end = line.count
        if end > 0 && line[end - 1] == 0x0A { end -= 1 }
        guard let base = line.baseAddress else { return nil }
        var i = 0
        // Past VALUE, the key and the flags (memchr over the words: keys can be long).
        for _ in 0..<3 {
            while i < end && line[i] == 0x20 { i += 1 }
            guard i < end else { return nil }
            i = memchr(base + i, 0x20, end - i).map { UnsafeRawPointer($0) - base } ?? end
        }
        while i < end && line[i] == 0x20 { i += 1 }
        var digitsEnd = i
        while digitsEnd < end && line[digitsEnd] != 0x20 { digitsEnd += 1 }
        if digitsEnd > i && line[digitsEnd - 1] == 0x0D { digitsEnd -= 1 }
        guard digitsEnd > i else { return nil }
        // The protocol's lengths are 32-bit: a larger one is malformed, and converting it (or adding
        // it to an offset) would trap. Leading zeros aside, 10 digits always fit in an Int.
        while i < digitsEnd - 1 && line[i] == 0x30 { i += 1 }
        guard digitsEnd - i <= 10 else { return nil }
        var bytes = 0
        for j in i..<digitsEnd {
            let digit = line[j] &- 0x30
            guard digit < 10 else { return nil }
            bytes = bytes * 10 + Int(digit)
        }
        return bytes <= Int(Int32.max) ? bytes : nil
    }
}
