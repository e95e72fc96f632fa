/// How the user designated the index server on the command line.
public struct IndexServerChoice: Equatable, Sendable {
    /// `-i/--index-server`: `host` or `host:port`.
    public var server: String?
    /// `-p/--index-server-port`.
    public var port: Int?
    /// `--cluster=NAME`, looked up in FLARE_INDEX_SERVERS.
    public var cluster: String?

    public init(server: String? = nil, port: Int? = nil, cluster: String? = nil) {
        self.server = server
        self.port = port
        self.cluster = cluster
    }
}

/// Finds the index server the way flare-tools does (flare-tools.md §1):
/// 1. `--cluster=NAME` → the entry NAME of `FLARE_INDEX_SERVERS="name:host:port;…"`;
/// 2. otherwise, when node keys are given and FLARE_INDEX_SERVERS is set, the first cluster
///    whose `stats nodes` lists all of them;
/// 3. otherwise `-i host[:port]`, `-p port`, `FLARE_INDEX_SERVER=host:port`, 127.0.0.1:12120.
public struct IndexServerLocator {
    public static let defaultHost = "127.0.0.1"
    public static let defaultPort = 12120

    public let environment: [String: String]
    /// Tells whether the index at an endpoint lists every given node key; errors count as no.
    public let listsAllNodes: (Endpoint, [String]) -> Bool

    public init(environment: [String: String], listsAllNodes: @escaping (Endpoint, [String]) -> Bool) {
        self.environment = environment
        self.listsAllNodes = listsAllNodes
    }

    public func locate(_ choice: IndexServerChoice, nodeArguments: [String]) throws -> Endpoint {
        if let cluster = choice.cluster {
            guard let endpoint = clusters().first(where: { $0.name == cluster })?.endpoint else {
                throw ToolError.invalidArgument("unknown cluster '\(cluster)' (not in FLARE_INDEX_SERVERS)")
            }
            return endpoint
        }
        if let endpoint = clusterListing(nodeArguments) {
            return endpoint
        }
        return try explicitOrDefault(choice)
    }

    private func explicitOrDefault(_ choice: IndexServerChoice) throws -> Endpoint {
        var environmentHost: String?, environmentPort: String?
        if let value = environment["FLARE_INDEX_SERVER"] {
            let parts = value.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            environmentHost = parts.first.flatMap { $0.isEmpty ? nil : $0 }
            environmentPort = parts.count > 1 && !parts[1].isEmpty ? parts[1] : nil
        }
        var host: String?, port: String?
        if let server = choice.server {
            let parts = server.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            host = parts[0].isEmpty ? nil : parts[0]
            port = parts.count > 1 && !parts[1].isEmpty ? parts[1] : nil
        }
        if port != nil && choice.port != nil {
            throw ToolError.invalidArgument("--index-server-port option isn't allowed.")
        }
        let finalPort = port ?? choice.port.map(String.init) ?? environmentPort ?? String(Self.defaultPort)
        guard let number = Int(finalPort), (1...65535).contains(number) else {
            throw ToolError.invalidArgument("invalid index server port '\(finalPort)'")
        }
        return Endpoint(host: host ?? environmentHost ?? Self.defaultHost, port: finalPort)
    }

    private func clusterListing(_ arguments: [String]) -> Endpoint? {
        guard !arguments.isEmpty, environment["FLARE_INDEX_SERVERS"] != nil else { return nil }
        var keys: [String] = []
        for argument in arguments {
            let parts = argument.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count >= 2 else { return nil }
            keys.append("\(parts[0]):\(parts[1])")
        }
        return clusters().first { listsAllNodes($0.endpoint, keys) }?.endpoint
    }

    private func clusters() -> [(name: String, endpoint: Endpoint)] {
        (environment["FLARE_INDEX_SERVERS"] ?? "").split(separator: ";").compactMap { entry in
            let parts = entry.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard parts.count >= 3 else { return nil }
            return (parts[0], Endpoint(host: parts[1], port: parts[2]))
        }
    }
}
