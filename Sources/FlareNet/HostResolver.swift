#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import Dispatch

/// Host-name resolution kept off the event loops: `getaddrinfo` may wait seconds for a DNS server,
/// and a worker that waits stalls every client it serves.
///
/// An IPv4 literal, or a name resolved within the last `freshMilliseconds`, is answered at once;
/// anything else is resolved on a Dispatch thread and the answer posted back to the asking worker on
/// a later loop turn. Concurrent lookups of one name share one `getaddrinfo`.
public enum HostResolver {
    /// How long a resolved address is used without asking again.
    public static let freshMilliseconds: Int64 = 30_000
    /// How long "does not resolve" is believed.
    public static let failureMilliseconds: Int64 = 1_000

    private struct Entry {
        var address: in_addr?
        var resolvedAt: Int64
    }

    private struct State {
        var cache: [String: Entry] = [:]
        /// Names being resolved, with the callbacks waiting for them.
        var pending: [String: [@Sendable (in_addr?) -> Void]] = [:]
    }

    private static let shared = Mutex(State())
    private static func withState<T>(_ body: (inout State) -> T) -> T { shared.withLock { body(&$0) } }

    /// The address of `host` if it is known without blocking: an IPv4 literal or a fresh cache entry.
    public static func immediate(_ host: String) -> in_addr?? {
        var literal = in_addr()
        if inet_pton(AF_INET, host, &literal) == 1 { return .some(literal) }
        let now = ServerClock.monotonicMilliseconds()
        return withState { state -> in_addr?? in
            // A name that did not resolve is asked again soon: it may have been a DNS hiccup.
            guard let entry = state.cache[host],
                  now - entry.resolvedAt < (entry.address == nil ? failureMilliseconds : freshMilliseconds) else { return nil }
            return .some(entry.address)
        }
    }

    /// Resolves `host` off the calling thread and calls `done` on `worker`'s thread with the
    /// address (nil if it does not resolve).
    public static func resolve(_ host: String, on worker: Worker, _ done: @escaping @Sendable (in_addr?) -> Void) {
        let deliver: @Sendable (in_addr?) -> Void = { address in worker.post { done(address) } }
        let first = withState { state -> Bool in
            if state.pending[host] != nil {
                state.pending[host]!.append(deliver)
                return false
            }
            state.pending[host] = [deliver]
            return true
        }
        guard first else { return }
        DispatchQueue.global().async {
            let address = blockingLookup(host)
            let now = ServerClock.monotonicMilliseconds()
            let waiting = withState { state -> [@Sendable (in_addr?) -> Void] in
                state.cache[host] = Entry(address: address, resolvedAt: now)
                return state.pending.removeValue(forKey: host) ?? []
            }
            for callback in waiting { callback(address) }
        }
    }

    /// `getaddrinfo` for one IPv4 address; blocks. Never call on an event loop.
    public static func blockingLookup(_ host: String) -> in_addr? {
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &result) == 0, let info = result else { return nil }
        defer { freeaddrinfo(result) }
        guard let address = info.pointee.ai_addr, info.pointee.ai_family == AF_INET else { return nil }
        return address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
    }
}
