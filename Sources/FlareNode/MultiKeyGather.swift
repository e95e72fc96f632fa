import FlareCluster
import FlareProtocol

/// A multi-key get/gets/gat/gats spread over several nodes: which key goes where, the requests
/// sent, and the hits received, so the reply can be assembled in the client's key order.
/// Lives on one worker's thread for the life of one request.
final class MultiKeyGather {
    enum Slot {
        case local([UInt8])
        /// A remote hit's whole `VALUE …` block, or nil for a miss.
        case remote([UInt8]?)
    }

    struct Destination {
        let peer: Peer
        var keys: [[UInt8]] = []
        /// Hits in reply order: key and the verbatim block.
        var hits: [(key: [UInt8], block: [UInt8])] = []
    }

    private enum Source { case local, remote(Int), miss }

    let command: Command
    let expire: Int64
    private(set) var destinations: [Destination] = []
    private var order: [(key: [UInt8], source: Source)] = []
    private var outstanding = 0

    init(command: Command, expire: Int64) {
        self.command = command
        self.expire = expire
    }

    var hasRemote: Bool { !destinations.isEmpty }
    var isComplete: Bool { outstanding == 0 }

    func addLocal(_ key: UnsafeRawBufferPointer) { order.append((Array(key), .local)) }
    func addMiss(_ key: UnsafeRawBufferPointer) { order.append((Array(key), .miss)) }

    func addRemote(_ key: UnsafeRawBufferPointer, peer: Peer) {
        let index: Int
        if let existing = destinations.firstIndex(where: { $0.peer.position == peer.position }) {
            index = existing
        } else {
            destinations.append(Destination(peer: peer))
            index = destinations.count - 1
            outstanding += 1
        }
        destinations[index].keys.append(Array(key))
        order.append((Array(key), .remote(index)))
    }

    /// `get k1 k2…` (or gets / `gat <exptime> k…`) for one destination. Reads carry no proxy
    /// prefix, as in flare.
    func appendRequest(for index: Int, selfKey: String, to out: ReplyBuffer) {
        out.append(command.name)
        if command == .gat || command == .gats {
            out.append(byte: 0x20)
            ForwardedRequest.appendExpiry(expire, to: out)
        }
        for key in destinations[index].keys {
            out.append(byte: 0x20)
            key.withUnsafeBytes { out.append($0) }
        }
        out.appendCRLF()
    }

    /// Splits a `VALUE … END` reply into its blocks.
    func received(_ reply: UnsafeRawBufferPointer, for index: Int) {
        outstanding -= 1
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
            let key = tokens.next().map { Array($0) } ?? []
            destinations[index].hits.append((key, Array(rest[..<blockLength])))
            offset += blockLength
        }
    }

    /// The owner did not answer: its keys are misses, as flare reports read failures.
    func failed(_ index: Int) {
        outstanding -= 1
        destinations[index].hits = []
    }

    /// Visits every requested key in the client's order.
    func forEachSlot(_ body: (Slot) -> Void) {
        var cursors = Array(repeating: 0, count: destinations.count)
        for (key, source) in order {
            switch source {
            case .local: body(.local(key))
            case .miss: body(.remote(nil))
            case .remote(let index):
                let hits = destinations[index].hits
                if cursors[index] < hits.count && hits[cursors[index]].key == key {
                    body(.remote(hits[cursors[index]].block))
                    cursors[index] += 1
                } else {
                    body(.remote(nil))
                }
            }
        }
    }
}
