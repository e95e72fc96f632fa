import FlareCluster

/// `activate hostname:port …`: `node state <host> <port> active`; while the index refuses, the
/// question is asked again (e.g. a new master still copying), until it succeeds or is declined.
public struct ActivateOperation {
    public var nodes: [NodeAddress]
    public var force = false

    public init(nodes: [NodeAddress], force: Bool = false) {
        self.nodes = nodes
        self.force = force
    }

    public func run(_ session: ToolSession) throws -> ToolStatus {
        let console = session.console
        func prompt(_ address: NodeAddress, _ node: NodeStat) -> String {
            "turning node up (node=\(address.shown), state=\(node.state) -> activate) (y/n): "
        }
        let changes = NodeChanges(session: session, force: force, usage: "activate [hostname:port] ...",
                                  unknownNodeNote: "invalid 'hostname:port' pair: ")
        return try changes.run(nodes, address: { $0 }) { address, node in
            guard !node.isActive else {
                console.note("\(address.shown) is already active.")
                return nil
            }
            return prompt(address, node)
        } change: { index, address, node in
            while try !index.setState(host: address.host, port: address.port, state: NodeState.active.name).succeeded {
                // With --force the original tries once; otherwise it asks before each retry.
                if force || !console.confirm(prompt(address, node)) {
                    console.note("failed to activate \(address.key)")
                    return false
                }
            }
            return true
        }
    }
}
