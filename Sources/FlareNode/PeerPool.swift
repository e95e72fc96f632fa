import FlareCluster
import FlareNet

/// This worker's connections to the other nodes: up to `proxy-concurrency` per node, a client
/// connection always using the same one (`lane(for:)`). Used on its worker's thread only.
final class PeerPool {
    private var links: [String: [PeerLink?]] = [:]
    private let concurrency: Int
    private unowned let worker: Worker
    /// A forwarded request unanswered for this long fails its link (and every request on it).
    static let replyTimeoutSeconds: Int64 = 3
    static let connectTimeoutMilliseconds = 1000

    private let registry: PeerLinkRegistry
    private unowned(unsafe) let relay: ReplyRelay

    init(worker: Worker, concurrency: Int, registry: PeerLinkRegistry, relay: ReplyRelay) {
        self.worker = worker
        self.relay = relay
        self.registry = registry
        self.concurrency = max(1, concurrency)
        worker.every(seconds: 1) { [unowned self] in expireSlowLinks() }
    }

    /// Which of a node's links carries a client connection's requests: always the same one, so
    /// the requests a pipelining client sends to one owner arrive in the order it sent them (it
    /// reads its own writes), and a multi-get needs one request per owner. Different clients
    /// spread over the links.
    func lane(for connection: Connection) -> Int {
        Int(UInt(bitPattern: connection.id) % UInt(concurrency))
    }

    /// The link for a peer resolved under `view`: an array index on the request path, where
    /// `link(to:lane:)` hashes the node key. The cache follows the worker's current view.
    func link(to peer: Peer, in view: ClusterView, lane index: Int) -> PeerLink {
        if view !== cachedView {
            cachedView = view
            cache = Array(repeating: nil, count: view.map.count * concurrency)
        }
        let slot = peer.position * concurrency + index
        if let link = cache[slot], !link.failed { return link }
        let link = link(to: view.map.entries[peer.position], lane: index)
        cache[slot] = link
        return link
    }

    private var cachedView: ClusterView?
    /// `cache[position * concurrency + lane]`: the link to the node at `position` in `cachedView`'s map.
    private var cache: [PeerLink?] = []

    func link(to node: NodeEntry, lane index: Int) -> PeerLink {
        var slots = links[node.nodeKey] ?? Array(repeating: nil, count: concurrency)
        if let link = slots[index] {
            if !link.failed { return link }
            registry.remove(link.stats.id)
        }
        let link = PeerLink(node: node, worker: worker, relay: relay, connectTimeoutMilliseconds: Self.connectTimeoutMilliseconds)
        registry.add(link.stats)
        slots[index] = link
        links[node.nodeKey] = slots
        return link
    }

    /// A new map: requests waiting on a node that no longer serves any partition (down, or
    /// demoted to proxy) fail now instead of waiting out the reply timeout, so their clients can
    /// retry against the node that replaced it.
    func dropLinks(toNodesNotServingIn view: ClusterView) {
        for (nodeKey, slots) in links {
            guard let node = view.map[nodeKey: nodeKey] else { continue }
            let serving = node.state != .down && node.role != .proxy
            guard !serving else { continue }
            for case let link? in slots where link.outstanding > 0 {
                link.fail("\(nodeKey) is \(node.role.name)/\(node.state.name) in node map version \(view.version)")
            }
        }
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
