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

/// One pipelined connection from this worker to another node, with the replies it still owes.
/// Requests are answered in order, so a FIFO of waiters matches replies to requests.
/// Used on its worker's thread only.
final class PeerLink: OutboundDelegate {
    typealias Completion = (Result<UnsafeRawBufferPointer, PeerFailure>) -> Void

    struct Waiter {
        let shape: ReplyShape
        let sentAt: Int64
        let completion: Completion
    }

    let nodeKey: String
    private let connection: OutboundConnection
    private var waiters: [Waiter] = []
    private var head = 0
    private let clock: ServerClock
    private(set) var failed = false
    /// What `stats threads` shows of this link.
    let stats: PeerLinkStats

    init(node: NodeEntry, worker: Worker, connectTimeoutMilliseconds: Int) {
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
        waiters.append(Waiter(shape: shape, sentAt: clock.now, completion: completion))
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

    // MARK: OutboundDelegate

    func outbound(_ connection: OutboundConnection, received input: UnsafeRawBufferPointer) -> Int {
        guard head < waiters.count else {
            // A reply nobody asked for: the stream is out of step, so drop the link.
            connection.fail("unexpected reply from \(nodeKey)")
            return input.count
        }
        guard let length = ReplyFraming.length(of: waiters[head].shape, in: input) else { return 0 }
        let waiter = waiters[head]
        head += 1
        if head == waiters.count { waiters.removeAll(keepingCapacity: true); head = 0 }
        publishQueue()
        waiter.completion(.success(UnsafeRawBufferPointer(rebasing: input[..<length])))
        return length
    }

    func outboundClosed(_ connection: OutboundConnection, reason: String) {
        failed = true
        let pending = waiters[head...]
        waiters.removeAll()
        head = 0
        publishQueue()
        for waiter in pending { waiter.completion(.failure(PeerFailure(node: nodeKey, reason: reason))) }
    }
}

struct PeerFailure: Error, CustomStringConvertible {
    let node: String
    let reason: String
    var description: String { "forward to \(node) failed: \(reason)" }
}

/// Where one reply ends in a stream of replies.
enum ReplyFraming {
    /// The byte length of the complete reply at the start of `input`, or nil if more is needed.
    static func length(of shape: ReplyShape, in input: UnsafeRawBufferPointer) -> Int? {
        switch shape {
        case .line:
            return lineEnd(input, from: 0)
        case .values:
            var offset = 0
            while true {
                guard let end = lineEnd(input, from: offset) else { return nil }
                let line = UnsafeRawBufferPointer(rebasing: input[offset..<end])
                if line.starts(with: "VALUE ".utf8) {
                    guard let bytes = valueLength(line) else { return end }  // malformed: stop here
                    let next = end + bytes + 2
                    guard input.count >= next else { return nil }
                    offset = next
                    continue
                }
                // END, or an error line that ends the reply.
                return end
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
    private static func lineEnd(_ input: UnsafeRawBufferPointer, from: Int) -> Int? {
        guard from < input.count else { return nil }
        guard let newline = input[from...].firstIndex(of: 0x0A) else { return nil }
        return newline + 1
    }

    /// The `<bytes>` field of `VALUE <key> <flags> <bytes> [<cas>]\r\n`.
    static func valueLength(_ line: UnsafeRawBufferPointer) -> Int? {
        var tokens = Tokenizer(UnsafeRawBufferPointer(rebasing: line[..<(line.count - (line.last == 0x0A ? 1 : 0))]))
        _ = tokens.next()
        _ = tokens.next()
        _ = tokens.next()
        guard var word = tokens.next() else { return nil }
        if word.last == 0x0D { word = UnsafeRawBufferPointer(rebasing: word.dropLast()) }
        // The protocol's lengths are 32-bit: a larger one is malformed, and converting it (or adding
        // it to an offset) would trap.
        guard let bytes = Decimal.uint64(word), bytes <= UInt64(Int32.max) else { return nil }
        return Int(bytes)
    }
}
