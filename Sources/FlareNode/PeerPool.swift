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

    private let registry: PeerLinkRegistry

    init(worker: Worker, concurrency: Int, registry: PeerLinkRegistry) {
        self.worker = worker
        self.registry = registry
        self.concurrency = max(1, concurrency)
        worker.every(seconds: 1) { [unowned self] in expireSlowLinks() }
    }

    func link(to node: NodeEntry, key: UnsafeRawBufferPointer) -> PeerLink {
        let index = concurrency > 1 ? Int(KeyHashAlgorithm.murmur(key) % UInt32(concurrency)) : 0
        var slots = links[node.nodeKey] ?? Array(repeating: nil, count: concurrency)
        if let link = slots[index] {
            if !link.failed { return link }
            registry.remove(link.stats.id)
        }
        let link = PeerLink(node: node, worker: worker, connectTimeoutMilliseconds: Self.connectTimeoutMilliseconds)
        registry.add(link.stats)
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
