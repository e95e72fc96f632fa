#if canImport(Glibc)
import Glibc
#endif

/// Where a daemon listens: the `server-address` the operator set, or else every IPv4 address its
/// `server-name` resolves to. The name is what the index and the other nodes use to reach the
/// node, so listening there makes it reachable without exposing it on addresses nobody uses.
/// Resolved once at start-up, before any event loop runs (name look-ups may block).
public struct ListenAddresses: Sendable, Equatable {
    public let addresses: [String]
    /// For the start-up log: how the addresses were chosen.
    public let origin: String

    public init(addresses: [String], origin: String) {
        self.addresses = addresses
        self.origin = origin
    }

    /// `configured` wins when given (`0.0.0.0` = every address); otherwise `serverName`'s addresses.
    public static func choose(configured: String?, serverName: String) throws(NetError) -> ListenAddresses {
        if let configured {
            return ListenAddresses(addresses: [configured], origin: "server-address")
        }
        let resolved = try resolveIPv4(serverName)
        return ListenAddresses(addresses: resolved, origin: "the address\(resolved.count == 1 ? "" : "es") of server-name \(serverName)")
    }

    /// Every distinct IPv4 address of `name` (a dotted quad resolves to itself), in resolver order.
    public static func resolveIPv4(_ name: String) throws(NetError) -> [String] {
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(name, nil, &hints, &list)
        guard status == 0, let list else {
            throw .serverName(name: name, reason: status == 0 ? "no address" : String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(list) }
        var out: [String] = []
        var entry: UnsafeMutablePointer<addrinfo>? = list
        while let current = entry {
            if current.pointee.ai_family == AF_INET, let raw = current.pointee.ai_addr {
                var address = raw.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
                var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
                if inet_ntop(AF_INET, &address, &text, socklen_t(text.count)) != nil {
                    let dotted = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                    if !out.contains(dotted) { out.append(dotted) }
                }
            }
            entry = current.pointee.ai_next
        }
        guard !out.isEmpty else { throw .serverName(name: name, reason: "no IPv4 address") }
        return out
    }

    /// `a:port, b:port` for logs.
    public func describe(port: Int) -> String {
        addresses.map { "\($0):\(port)" }.joined(separator: ", ")
    }
}
