/// Failures of the network layer, worded for the operator who has to fix them.
public enum NetError: Error, CustomStringConvertible {
    case resolve(address: String)
    case serverName(name: String, reason: String)
    case bind(address: String, port: Int, errno: Int32)
    case listen(port: Int, errno: Int32)
    case eventBase
    case thread(errno: Int32)

    public var description: String {
        switch self {
        case .resolve(let address):
            "cannot listen on '\(address)': not an IPv4 address (use e.g. 127.0.0.1 or 0.0.0.0)"
        case .serverName(let name, let reason):
            "cannot find an address to listen on: server-name '\(name)' does not resolve (\(reason)); add it to /etc/hosts or DNS, or set server-address (0.0.0.0 for every address)"
        case .bind(let address, let port, let code):
            code == EADDRINUSE
                ? "cannot listen on \(address):\(port): the port is already in use by another process"
                : "cannot listen on \(address):\(port): \(errorText(code))"
        case .listen(let port, let code):
            "cannot listen on port \(port): \(errorText(code))"
        case .eventBase:
            "libevent could not create an event base"
        case .thread(let code):
            "cannot start a worker thread: \(errorText(code))"
        }
    }
}

func errorText(_ code: Int32) -> String {
    String(cString: strerror(code))
}

#if canImport(Glibc)
import Glibc
#endif
