/// `ping hostname:port …`: connect (which sends `version`), `ping`, expect `OK`. With `--wait`
/// every node is retried each second until it answers; prints `alive` when all did.
public struct PingOperation {
    public var nodes: [NodeAddress]
    public var waitUntilAlive: Bool

    public init(nodes: [NodeAddress], waitUntilAlive: Bool = false) {
        self.nodes = nodes
        self.waitUntilAlive = waitUntilAlive
    }

    public func run(_ session: ToolSession) throws -> ToolStatus {
        for node in nodes where !HostAddress.resolves(node.host) {
            throw ToolError.invalidArgument("unknown host '\(node.host)'")
        }
        for node in nodes {
            while !answers(node, session) {
                guard waitUntilAlive else {
                    session.console.say("\(node.key) is down")
                    return .failure
                }
                session.console.pause(1)
            }
        }
        session.console.say("alive")
        return .success
    }

    private func answers(_ node: NodeAddress, _ session: ToolSession) -> Bool {
        (try? session.withNode(node.endpoint) { try $0.ping() }) ?? false
    }
}
