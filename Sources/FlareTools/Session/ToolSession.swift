/// The context every sub-command runs in: where the index server is, the timeouts, dry-run
/// mode and the console. Sub-commands open their own connections through it, so integration
/// tests can run them in-process against real daemons with captured output.
public struct ToolSession {
    public let indexServer: Endpoint
    public let timeouts: Timeouts
    public let dryRun: Bool
    public let console: ToolConsole

    public init(indexServer: Endpoint, timeouts: Timeouts = Timeouts(), dryRun: Bool = false, console: ToolConsole) {
        self.indexServer = indexServer
        self.timeouts = timeouts
        self.dryRun = dryRun
        self.console = console
    }

    public func openIndex() throws -> FlareClient {
        try open(indexServer, peer: .indexServer)
    }

    public func openNode(_ endpoint: Endpoint) throws -> FlareClient {
        try open(endpoint, peer: .node)
    }

    /// Runs `body` with a connection to the index server, always ending with `quit`.
    public func withIndex<T>(_ body: (FlareClient) throws -> T) throws -> T {
        let client = try openIndex()
        defer { client.close() }
        return try body(client)
    }

    /// Runs `body` with a connection to a node, always ending with `quit`; `requestTimeout`
    /// replaces the session's for a request known to take long.
    public func withNode<T>(_ endpoint: Endpoint, requestTimeout: Double? = nil, _ body: (FlareClient) throws -> T) throws -> T {
        let client = try requestTimeout.map {
            FlareClient(connection: try FlareConnection(to: endpoint, peer: .node, connectTimeout: timeouts.connect, requestTimeout: $0))
        } ?? openNode(endpoint)
        defer { client.close() }
        return try body(client)
    }

    private func open(_ endpoint: Endpoint, peer: PeerKind) throws -> FlareClient {
        FlareClient(connection: try FlareConnection(to: endpoint, peer: peer, connectTimeout: timeouts.connect,
                                                    requestTimeout: timeouts.request))
    }
}
