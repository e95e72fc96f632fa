#if canImport(Glibc)
import Glibc
#endif
import FlareConfig
import Synchronization

/// The IPv4 addresses of the configured index servers: the only peers whose cluster-control
/// commands (`node sync`) a node obeys. Anyone else could otherwise install a map of their
/// choosing and steer the node.
///
/// Resolved off the event loops (`refresh`, on the registration loop's thread, each round) and read
/// by workers when a push arrives, which is rare: a mutex is enough.
final class IndexPeers: Sendable {
    private let addresses = Mutex<Set<String>>([])

    /// The addresses currently allowed, for messages.
    var allowed: [String] { addresses.withLock { $0.sorted() } }

    /// Whether a connection from `peer` (`ip:port`, as `Connection.peer`) comes from an index server.
    func allows(peer: String) -> Bool {
        guard let colon = peer.lastIndex(of: ":") else { return false }
        let host = peer[..<colon]
        return addresses.withLock { $0.contains(String(host)) }
    }

    /// Resolves every configured index server (may block on DNS: never call on a worker). A name that
    /// does not resolve now keeps the addresses it had, so a DNS hiccup does not lock the index out.
    func refresh(_ servers: [IndexServerAddress]) {
        var resolved: Set<String> = []
        var failed = false
        for server in servers {
            let found = Self.resolve(server.name)
            if found.isEmpty { failed = true }
            resolved.formUnion(found)
        }
        addresses.withLock { current in
            if failed { current.formUnion(resolved) } else { current = resolved }
        }
    }

    /// Replaces the set directly (tests, and a configuration that names addresses only).
    func set(_ hosts: Set<String>) { addresses.withLock { $0 = hosts } }

    static func resolve(_ name: String) -> Set<String> {
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, nil, &hints, &result) == 0 else { return [] }
        defer { freeaddrinfo(result) }
        var found: Set<String> = []
        var entry = result
        while let info = entry {
            if let address = info.pointee.ai_addr, info.pointee.ai_family == AF_INET {
                var inet = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
                var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
                if inet_ntop(AF_INET, &inet, &text, socklen_t(INET_ADDRSTRLEN)) != nil {
                    found.insert(String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
                }
            }
            entry = info.pointee.ai_next
        }
        return found
    }
}
