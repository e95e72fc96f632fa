/// A server the tools talk to, written the way flare names it: the host text and the port text
/// exactly as they appear in a node key. Node keys are matched textually (docs/original-behaviour.md, "Tools and their
/// wire formats"), so the port is kept as text too and never normalised.
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    public let host: String
    public let port: String

    public init(host: String, port: String) {
        self.host = host
        self.port = port
    }

    public init(host: String, port: Int) {
        self.init(host: host, port: String(port))
    }

    /// `host:port`, the node key form.
    public var description: String { "\(host):\(port)" }
}

/// What kind of daemon an endpoint is, only used to word error messages.
public enum PeerKind: String, Sendable {
    case indexServer = "index server"
    case node = "node"
}
