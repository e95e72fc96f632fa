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
        try nodes.map(\.key).requireNodes("activate [hostname:port] ...")
        let console = session.console
        return try session.withIndex { index in
            let map = try index.statsNodes()
            var status = ToolStatus.success
            for address in nodes {
                guard let node = map[address.key] else {
                    console.note("invalid 'hostname:port' pair: \(address.key)")
                    return .failure
                }
                let prompt = "turning node up (node=\(address.shown), state=\(node.state) -> activate) (y/n): "
                var execute = force
                if !execute {
                    if node.isActive {
                        console.note("\(address.shown) is already active.")
                    } else {
                        execute = console.confirm(prompt)
                    }
                }
                guard execute, !session.dryRun else { continue }
                while try !index.setState(host: address.host, port: address.port, state: NodeState.active.name).succeeded {
                    // With --force the original tries once; otherwise it asks before each retry.
                    if force || !console.confirm(prompt) {
                        console.note("failed to activate \(address.key)")
                        status = .failure
                        break
                    }
                }
            }
            console.out.write(NodeListFormat.render(try index.statsNodes(), only: nodes.map(\.key)))
            return status
        }
    }
}
