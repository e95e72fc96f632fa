import FlareCluster

/// One node of `stats nodes`: its key (`host:port`, exactly as the index prints it) and the
/// attributes `role state partition balance thread_type`, kept as text like the original (an
/// unknown word is shown as is and simply is no `NodeRole` / `NodeState`).
public struct NodeStat: Equatable, Sendable {
    public let host: String
    public let port: String
    public private(set) var fields: [String: String]

    public init(host: String, port: String, fields: [String: String] = [:]) {
        self.host = host
        self.port = port
        self.fields = fields
    }

    mutating func set(_ name: String, _ value: String) {
        fields[name] = value
    }

    public var key: String { "\(host):\(port)" }
    public var endpoint: Endpoint { Endpoint(host: host, port: port) }
    public var role: String { fields["role"] ?? "" }
    public var state: String { fields["state"] ?? "" }
    public var partitionText: String { fields["partition"] ?? "" }
    public var balanceText: String { fields["balance"] ?? "" }
    public var partition: Int { RubyNumber.integer(partitionText) }
    public var balance: Int { RubyNumber.integer(balanceText) }
    public var threadType: Int { RubyNumber.integer(fields["thread_type"] ?? "") }

    /// The role and state words read as FlareCluster's enums (exact, lowercase words only).
    public var knownRole: NodeRole? { NodeRole(name: role) }
    public var knownState: NodeState? { NodeState(name: state) }

    public var isMaster: Bool { knownRole == .master }
    public var isSlave: Bool { knownRole == .slave }
    public var isProxy: Bool { knownRole == .proxy }
    public var isActive: Bool { knownState == .active }
    public var isDown: Bool { knownState == .down }
    public var isReady: Bool { knownState == .ready }
}
