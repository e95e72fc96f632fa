/// One node of `stats nodes`: its key (`host:port`, exactly as the index prints it) and the
/// attributes `role state partition balance thread_type`, kept as text like the original.
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

    public var isMaster: Bool { role == "master" }
    public var isSlave: Bool { role == "slave" }
    public var isProxy: Bool { role == "proxy" }
    public var isActive: Bool { state == "active" }
    public var isDown: Bool { state == "down" }
    public var isReady: Bool { state == "ready" }
}
