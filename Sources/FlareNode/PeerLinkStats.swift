import FlareNet
import Synchronization

/// What `stats threads` shows of one peer link (a "proxy thread" in flare's terms): written by the
/// link's worker thread with relaxed atomics, read by whichever worker answers `stats threads`.
final class PeerLinkStats: Sendable {
    let id: Int
    let peer: String
    let threadType: Int
    let openedAt: Int64
    /// Requests sent and not yet answered.
    /// (Synchronization's Atomic: its stores compile to plain moves, where ManagedAtomic's cost a
    /// call per access on the request path.)
    let outstanding = Atomic<Int>(0)
    /// When the oldest unanswered request was sent (0 if none): `behind` is its age.
    let oldestSentAt = Atomic<Int64>(0)

    init(id: Int, peer: String, threadType: Int, openedAt: Int64) {
        self.id = id
        self.peer = peer
        self.threadType = threadType
        self.openedAt = openedAt
    }
}

/// Every live peer link of the node, for `stats threads`. Changed only when a link opens or is
/// replaced, never per request.
final class PeerLinkRegistry: Sendable {
    private let links = Mutex<[Int: PeerLinkStats]>([:])

    func add(_ stats: PeerLinkStats) { links.withLock { $0[stats.id] = stats } }
    func remove(_ id: Int) { links.withLock { _ = $0.removeValue(forKey: id) } }

    /// Links in thread-type then id order, as flare lists its threads.
    var all: [PeerLinkStats] {
        links.withLock { $0.values.sorted { ($0.threadType, $0.id) < ($1.threadType, $1.id) } }
    }
}
