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
        try nodes.map(\.key).requireNodes("down [hostname:port] ...")
        let console = session.console
        return try session.withIndex { index in
            let map = try index.statsNodes()
            var status = ToolStatus.success
            for address in nodes {
                guard let node = map[address.key] else {
                    console.note("invalid 'hostname:port' pair: \(address.key)")
                    return .failure
                }
                var execute = force
                if !execute {
                    if node.isDown {
                        console.say("\(address.shown) is already down.")
                    } else {
                        execute = console.confirm("turning node down (node=\(address.shown), state=\(node.state) -> down) (y/n): ")
                    }
                }
                guard execute, !session.dryRun else { continue }
                if case .failure(let line) = try index.setState(host: address.host, port: address.port, state: NodeState.down.name) {
                    console.note("failed to turn down \(address.key): \(line)")
                    status = .failure
                }
            }
            console.out.write(NodeListFormat.render(try index.statsNodes(), only: nodes.map(\.key)))
            return status
        }
    }
}
