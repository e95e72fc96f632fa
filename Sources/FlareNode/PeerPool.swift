import FlareCluster
import FlareNet

/// This worker's connections to the other nodes: up to `proxy-concurrency` per node, a key always
/// using the same one (libhashkit murmur of the key, as flare does) so writes to one key stay in
/// order. Used on its worker's thread only.
final class PeerPool {
    private var links: [String: [PeerLink?]] = [:]
    private let concurrency: Int
    private unowned let worker: Worker
    /// A forwarded request unanswered for this long fails its link (and every request on it).
    static let replyTimeoutSeconds: Int64 = 3
    static let connectTimeoutMilliseconds = 1000

    init(worker: Worker, concurrency: Int) {
        self.worker = worker
        self.concurrency = max(1, concurrency)
        worker.every(seconds: 1) { [unowned self] in expireSlowLinks() }
    }

    func link(to node: NodeEntry, key: UnsafeRawBufferPointer) -> PeerLink {
        let index = concurrency > 1 ? Int(KeyHashAlgorithm.murmur(key) % UInt32(concurrency)) : 0
        var slots = links[node.nodeKey] ?? Array(repeating: nil, count: concurrency)
        if let link = slots[index], !link.failed { return link }
        let link = PeerLink(nodeKey: node.nodeKey, host: node.name, port: node.port, worker: worker,
                            connectTimeoutMilliseconds: Self.connectTimeoutMilliseconds)
        slots[index] = link
        links[node.nodeKey] = slots
        return link
    }

    private func expireSlowLinks() {
        let now = worker.server.clock.now
        for slots in links.values {
            for case let link? in slots where link.oldestWait(now: now) > Self.replyTimeoutSeconds {
                link.fail("no reply within \(Self.replyTimeoutSeconds) s")
            }
        }
    }
}
