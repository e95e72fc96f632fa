/// `threads [hostname:port]`: `stats threads` of the index, or of the given node.
public struct ThreadsOperation {
    public var node: NodeAddress?

    public init(node: NodeAddress? = nil) {
        self.node = node
    }

    public func run(_ session: ToolSession) throws -> ToolStatus {
        let client = try node.map { try session.openNode($0.endpoint) } ?? session.openIndex()
        defer { client.close() }
        session.console.out.write(ThreadsFormat.render(try client.statsThreads()))
        return .success
    }
}
