#if canImport(Glibc)
import Glibc
#endif

/// The original shows nodes in prompts as `<address>:<port>`, with the host name resolved to a
/// numeric address (Resolv.getaddress), falling back to the name when it does not resolve.
public enum HostAddress {
    public static func numeric(_ host: String) -> String {
        // IPv4 first, as Ruby's resolver answers from /etc/hosts, then any family.
        numeric(host, family: AF_INET) ?? numeric(host, family: AF_UNSPEC) ?? host
    }

    private static func numeric(_ host: String, family: Int32) -> String? {
        var hints = addrinfo()
        hints.ai_family = family
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let info = list else { return nil }
        defer { freeaddrinfo(list) }
        var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        guard getnameinfo(info.pointee.ai_addr, info.pointee.ai_addrlen, &text, socklen_t(text.count), nil, 0,
                          NI_NUMERICHOST) == 0 else { return nil }
        return String(nulTerminated: text)
    }
}

extension HostAddress {
    /// Whether the name resolves at all (ping refuses unknown hosts up front, like the original).
    public static func resolves(_ host: String) -> Bool {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0 else { return false }
        freeaddrinfo(list)
        return true
    }
}
