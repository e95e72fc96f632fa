import FlareCluster

/// `down hostname:port …`: `node state <host> <port> down` for each node (after confirmation
/// unless `--force`), then the node table.
public struct DownOperation {
    public var nodes: [NodeAddress]
    public var force = false

    public init(nodes: [NodeAddress], force: Bool = false) {
        self.nodes = nodes
        self.force = force
    }

    public func run(_ session: ToolSession) throws -> ToolStatus {
        let console = session.console
        let changes = NodeChanges(session: session, force: force, usage: "down [hostname:port] ...",
                                  unknownNodeNote: "invalid 'hostname:port' pair: ")
        return try changes.run(nodes, address: { $0 }) { address, node in
            guard !node.isDown else {
                console.say("\(address.shown) is already down.")
                return nil
            }
            return "turning node down (node=\(address.shown), state=\(node.state) -> down) (y/n): "
        } change: { index, address, _ in
            guard case .failure(let line) = try index.setState(host: address.host, port: address.port,
                                                               state: NodeState.down.name) else { return true }
            console.note("failed to turn down \(address.key): \(line)")
            return false
        }
    }
}
