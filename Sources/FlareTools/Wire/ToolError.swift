/// Every failure the tools report. Each case renders as the single line printed on stderr
/// before the tool exits non-zero; no case ever carries a stack trace.
public enum ToolError: Error, Equatable, CustomStringConvertible {
    /// TCP connect (or name resolution) failed; `reason` is the system's wording.
    case cannotConnect(PeerKind, Endpoint, reason: String)
    /// The server did not answer `request` within the request timeout.
    case timedOut(PeerKind, Endpoint, request: String)
    /// The server closed the connection (or the socket failed) while `request` was pending.
    case connectionLost(PeerKind, Endpoint, request: String, reason: String)
    /// A reply line that the parser for `request` cannot accept.
    case unexpectedReply(PeerKind, Endpoint, request: String, line: String)
    /// A command-line argument or option the sub-command rejects.
    case invalidArgument(String)
    /// An operation that could not be carried out (message is complete).
    case operationFailed(String)

    public var description: String {
        switch self {
        case .cannotConnect(let kind, let endpoint, let reason):
            return "cannot connect to \(kind.rawValue) \(endpoint): \(reason)"
        case .timedOut(let kind, let endpoint, let request):
            return "\(kind.rawValue) \(endpoint) did not answer '\(request)' in time"
        case .connectionLost(let kind, let endpoint, let request, let reason):
            return "connection to \(kind.rawValue) \(endpoint) lost during '\(request)': \(reason)"
        case .unexpectedReply(let kind, let endpoint, let request, let line):
            return "unexpected reply from \(kind.rawValue) \(endpoint) to '\(request)': \(line)"
        case .invalidArgument(let message), .operationFailed(let message):
            return message
        }
    }
}
