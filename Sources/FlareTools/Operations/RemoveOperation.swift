/// `remove hostname:port …`: removes nodes that `stats nodes` shows as `proxy/down` with
/// `node remove <host> <port>` (1 + `--retry` attempts), then prints the whole node table.
public struct RemoveOperation {
    public var nodes: [NodeAddress]
    public var force = false
    public var retry = 0

    public init(nodes: [NodeAddress], force: Bool = false, retry: Int = 0) {
        self.nodes = nodes
        self.force = force
        self.retry = retry
    }

    public func run(_ session: ToolSession) throws -> ToolStatus {
        try nodes.map(\.key).requireNodes("remove [hostname:port] ...")
        let console = session.console
        return try session.withIndex { index in
            let map = try index.statsNodes()
            for address in nodes {
                let key = address.key
                guard let node = map[key] else {
                    console.note("node not found in cluster. (node=\(key))")
                    continue
                }
                guard node.isProxy && node.isDown else {
                    console.note("node should role=proxy and state=down. (node=\(key) role=\(node.role) state=\(node.state))")
                    return .failure
                }
                if !force && !console.confirm("remove the node from a cluster (node=\(key), role=\(node.role), state=\(node.state)) (y/n): ") {
                    return .failure
                }
                var removed = false
                for _ in 0...max(retry, 0) where !removed {
                    console.say("removing \(key).")
                    removed = try session.dryRun || index.nodeRemove(host: address.host, port: address.port).succeeded
                }
                guard removed else {
                    console.note("node remove failed. (node=\(key))")
                    return .failure
                }
            }
            console.say("")
            console.out.write(NodeListFormat.render(try index.statsNodes(), only: []))
            return .success
        }
    }
}
