#if canImport(Glibc)
import Glibc
#endif
import Atomics
import FlareCluster
import FlareConfig
import FlareNet

/// The node's line to the index for its lease: a thread of its own sends `lease <name> <port>
/// <master-lease>` every 200 ms on one persistent connection and reports each answer
/// (`indexContact`, with the send time, the index's node-map version and whether the index granted
/// the lease) or its absence (`indexUnreachable`) to the control plane. When the core asks for the
/// index's map (`fetchMap`), the next round also fetches it (`stats nodes`) after the renewal, and
/// keeps trying until an index answers.
///
/// The short timeout keeps one slow answer from delaying the next round by much; an answer that
/// comes too late is dropped with the connection, so replies never pair with the wrong request.
final class IndexLease: @unchecked Sendable {
    private let membership: NodeMembership
    private let name: String
    private let port: Int
    /// Sent with every renewal: the index waits this long after its last grant before failing the
    /// node over, so it must be the length the node itself uses.
    private let leaseMilliseconds: Int64
    private let fetchWanted = ManagedAtomic<Bool>(false)
    private let running = ManagedAtomic<Bool>(true)
    /// Wakes the thread early when a fetch is wanted: after a suspension every millisecond fenced counts.
    private let wakeUp = Condition()
    static let intervalMilliseconds: Int64 = 200
    static let timeoutMilliseconds = 500

    // Owned by the lease thread.
    private var fd: Int32 = -1
    private var server: IndexServerAddress?
    private var nextServer = 0
    /// The leader a follower named: tried first on the next connection.
    private var preferred: IndexServerAddress?

    init(membership: NodeMembership, name: String, port: Int, leaseMilliseconds: Int64) {
        self.membership = membership
        self.name = name
        self.port = port
        self.leaseMilliseconds = leaseMilliseconds
    }

    func start() {
        let retained = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        pthread_create(&thread, nil, { arg in
            let lease = Unmanaged<IndexLease>.fromOpaque(arg!).takeRetainedValue()
            lease.run()
            return nil
        }, retained)
        pthread_detach(thread)
    }

    func stop() { running.store(false, ordering: .relaxed) }

    /// Fetch the index's map in the next round (and the ones after, until one succeeds).
    func requestFetch() {
        fetchWanted.store(true, ordering: .releasing)
        wakeUp.signal()
    }

    private func run() {
        while running.load(ordering: .relaxed) {
            let sentAt = ServerClock.monotonicMilliseconds()
            let reached = round(sentAt: sentAt)
            let elapsed = ServerClock.monotonicMilliseconds() - sentAt
            if elapsed < Self.intervalMilliseconds {
                // A wanted map is fetched at once, but an unreachable index is not retried in a
                // tight loop (a fetch left pending by a failed round must still wait).
                wakeUp.withLock {
                    if !reached || !fetchWanted.load(ordering: .acquiring) {
                        wakeUp.wait(milliseconds: Int(Self.intervalMilliseconds - elapsed))
                    }
                }
            }
        }
        if fd >= 0 { close(fd) }
    }

    /// One renewal (and a map fetch if one is wanted). Returns false if no index answered.
    private func round(sentAt: Int64, redirected: Bool = false) -> Bool {
        guard let server = connected() else {
            membership.deliver(.indexUnreachable(now: ServerClock.monotonicMilliseconds()))
            return false
        }
        let fetch = fetchWanted.exchange(false, ordering: .acquiringAndReleasing)
        if let answer = IndexClient.renewLease(fd: fd, server: server, name: name, port: port, milliseconds: leaseMilliseconds) {
            if case .notLeading(let leader) = answer {
                // A follower: go to the leader it names (or the next server) at once, so a
                // master's renewals keep their pace.
                if fetch { fetchWanted.store(true, ordering: .releasing) }
                disconnect()
                preferred = leader
                if redirected {
                    // No index leads at the moment (an election is under way): no lease to be had.
                    membership.deliver(.indexUnreachable(now: ServerClock.monotonicMilliseconds()))
                    return false
                }
                return round(sentAt: ServerClock.monotonicMilliseconds(), redirected: true)
            }
            let granted = answer.isGranted
            if !fetch {
                membership.deliver(.indexContact(sentAt: sentAt, indexVersion: answer.version, granted: granted))
                return true
            }
            if let map = IndexClient.currentMap(fd: fd, server: server) {
                membership.deliver(.mapFetched(version: answer.version, map: map, sentAt: sentAt, granted: granted))
                return true
            }
        }
        if fetch { fetchWanted.store(true, ordering: .releasing) }
        disconnect()
        membership.deliver(.indexUnreachable(now: ServerClock.monotonicMilliseconds()))
        return false
    }

    /// The open connection, or a new one to the next configured server.
    private func connected() -> IndexServerAddress? {
        if fd >= 0, let server { return server }
        let servers = membership.currentSettings.indexServers
        guard !servers.isEmpty else { return nil }
        let candidate: IndexServerAddress
        if let leader = preferred {
            preferred = nil
            candidate = leader
        } else {
            candidate = servers[nextServer % servers.count]
            nextServer &+= 1
        }
        guard let opened = LineClient.connect(host: candidate.name, port: candidate.port,
                                              timeoutMilliseconds: Self.timeoutMilliseconds) else { return nil }
        fd = opened
        server = candidate
        return candidate
    }

    private func disconnect() {
        if fd >= 0 { close(fd) }
        fd = -1
        server = nil
    }
}
