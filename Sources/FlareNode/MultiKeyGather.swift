import FlareCluster
import FlareProtocol

/// A multi-key get/gets/gat/gats spread over several nodes: which key goes where, the requests
/// sent, and the hits received, so the reply can be assembled in the client's key order.
/// Lives on one worker's thread for the life of one request.
///
/// Bytes are kept in bulk, not per key: every key in one buffer, each owner's reply copied once,
/// keys and hits as ranges into those (a 100-key request allocates a handful of arrays, not
/// hundreds).
final class MultiKeyGather {
    /// One requested key, as `forEachSlot` shows it: valid only during the call.
    enum Slot {
        case local(UnsafeRawBufferPointer)
        /// A remote hit's whole `VALUE …` block, or nil for a miss.
        case remote(UnsafeRawBufferPointer?)
    }

    struct Destination {
        let peer: Peer
        /// Its keys, as ranges of `keyBytes`, in request order.
        fileprivate(set) var keys: [Range<Int>] = []
        /// The length of the keys, so that one request line stays short.
        fileprivate(set) var lineBytes = 0
        /// Its reply, copied once.
        fileprivate var reply: [UInt8] = []
        /// Hits in reply order: the key and the verbatim block, as ranges of `reply`.
        fileprivate var hits: [(key: Range<Int>, block: Range<Int>)] = []
    }

    private enum Source { case local, remote(Int), miss }

    let command: Command
    let expire: Int64
    private(set) var destinations: [Destination] = []
    private var keyBytes: [UInt8] = []
    private var order: [(key: Range<Int>, source: Source)] = []
    private var outstanding = 0
    static let requestKeyBytes = 32 * 1024

    init(command: Command, expire: Int64) {
        self.command = command
        self.expire = expire
    }

    var hasRemote: Bool { !destinations.isEmpty }
    var isComplete: Bool { outstanding == 0 }

    private func store(_ key: UnsafeRawBufferPointer) -> Range<Int> {
        let start = keyBytes.count
        keyBytes.append(contentsOf: key)
        return start..<keyBytes.count
    }

    func addLocal(_ key: UnsafeRawBufferPointer) { order.append((store(key), .local)) }
    func addMiss(_ key: UnsafeRawBufferPointer) { order.append((store(key), .miss)) }

    func addRemote(_ key: UnsafeRawBufferPointer, peer: Peer) {
        let index: Int
        // A node's keys go in requests of at most `requestKeyBytes`: the owner reads get lines of
        // any length, but a bounded line is forwarded and parsed in one piece.
        if let existing = destinations.lastIndex(where: { $0.peer.position == peer.position }),
           destinations[existing].lineBytes + key.count < MultiKeyGather.requestKeyBytes {
            index = existing
        } else {
            destinations.append(Destination(peer: peer))
            index = destinations.count - 1
            outstanding += 1
        }
        let range = store(key)
        destinations[index].keys.append(range)
        destinations[index].lineBytes += key.count + 1
        order.append((range, .remote(index)))
    }

    /// Calls `body` with each key of destination `index`, in request order.
    func forEachKey(of index: Int, _ body: (UnsafeRawBufferPointer) -> Void) {
        keyBytes.withUnsafeBytes { bytes in
            for range in destinations[index].keys { body(UnsafeRawBufferPointer(rebasing: bytes[range])) }
        }
    }

    /// `get k1 k2…` (or gets / `gat <exptime> k…`) for one destination. Reads carry no proxy
    /// prefix, as in flare.
    func appendRequest(for index: Int, selfKey: String, to out: ReplyBuffer) {
        out.append(command.name)
        if command == .gat || command == .gats {
            out.append(byte: 0x20)
            ForwardedRequest.appendExpiry(expire, to: out)
        }
        forEachKey(of: index) { key in
            out.append(byte: 0x20)
            out.append(key)
        }
        out.appendCRLF()
    }

    /// Keeps a `VALUE … END` reply and notes where its blocks are.
    func received(_ reply: UnsafeRawBufferPointer, for index: Int) {
        outstanding -= 1
        var hits: [(key: Range<Int>, block: Range<Int>)] = []
        var offset = 0
        while offset < reply.count {
            let rest = UnsafeRawBufferPointer(rebasing: reply[offset...])
            guard let newline = rest.firstIndex(of: 0x0A) else { break }
            let header = UnsafeRawBufferPointer(rebasing: rest[...newline])
            guard ReplyFraming.isValueLine(header), let bytes = ReplyFraming.valueLength(header) else { break }
            let blockLength = newline + 1 + bytes + 2
            guard blockLength <= rest.count else { break }
            var tokens = Tokenizer(header)
            _ = tokens.next()
            let key = tokens.next().map { word in
                let start = word.baseAddress! - reply.baseAddress!
                return start..<(start + word.count)
            } ?? offset..<offset
            hits.append((key, offset..<(offset + blockLength)))
            offset += blockLength
        }
        destinations[index].reply = Array(UnsafeRawBufferPointer(rebasing: reply[..<offset]))
        destinations[index].hits = hits
    }

    /// The owner did not answer: its keys are misses, as flare reports read failures.
    func failed(_ index: Int) {
        outstanding -= 1
        destinations[index].hits = []
    }

    /// Visits every requested key in the client's order.
    func forEachSlot(_ body: (Slot) -> Void) {
        var cursors = Array(repeating: 0, count: destinations.count)
        keyBytes.withUnsafeBytes { keys in
            for (range, source) in order {
                let key = UnsafeRawBufferPointer(rebasing: keys[range])
                switch source {
                case .local: body(.local(key))
                case .miss: body(.remote(nil))
                case .remote(let index):
                    let cursor = cursors[index]
                    let hit = cursor < destinations[index].hits.count ? destinations[index].hits[cursor] : nil
                    destinations[index].reply.withUnsafeBytes { reply in
                        if let hit, UnsafeRawBufferPointer(rebasing: reply[hit.key]).elementsEqual(key) {
                            cursors[index] += 1
                            body(.remote(UnsafeRawBufferPointer(rebasing: reply[hit.block])))
                        } else {
                            body(.remote(nil))
                        }
                    }
                }
            }
        }
    }
}
