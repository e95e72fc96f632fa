/// `list`: the node table from the index's `stats nodes`, sorted by (partition with -1 last,
/// role, node key).
public struct ListOperation {
    /// `--numeric-hosts`: show resolved addresses instead of the server names.
    public var numericHosts: Bool

    public init(numericHosts: Bool = false) {
        self.numericHosts = numericHosts
    }

    public func run(_ session: ToolSession) throws -> ToolStatus {
        let map = try session.withIndex { try $0.statsNodes() }
        session.console.say(NodeListFormat.header)
        for node in map.listOrder {
            session.console.say(NodeListFormat.line(node, displayHost: numericHosts ? HostAddress.numeric(node.host) : nil))
        }
        return .success
    }
}
