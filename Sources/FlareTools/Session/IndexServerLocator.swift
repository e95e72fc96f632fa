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

/// Finds the index server the way flare-tools does (docs/original-behaviour.md, "Tools and their wire formats"):
/// 1. `--cluster=NAME` → the entry NAME of `FLARE_INDEX_SERVERS="name:host:port;…"`;
/// 2. otherwise, when node keys are given and FLARE_INDEX_SERVERS is set, the first cluster
///    whose `stats nodes` lists all of them;
/// 3. otherwise `-i host[:port]`, `-p port`, `FLARE_INDEX_SERVER=host:port`, 127.0.0.1:12120.
///
/// A cluster may have several index servers (flarei on ZooKeeper): `-i` and FLARE_INDEX_SERVER
/// take a comma-separated list, and a cluster name may appear several times in
/// FLARE_INDEX_SERVERS. `locateAll` gives every candidate; the tools use the first that answers.
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
        try locateAll(choice, nodeArguments: nodeArguments)[0]
    }

    /// Every index server of the designated cluster, in the order given (never empty).
    public func locateAll(_ choice: IndexServerChoice, nodeArguments: [String]) throws -> [Endpoint] {
        if let cluster = choice.cluster {
            let endpoints = clusters().filter { $0.name == cluster }.map(\.endpoint)
            guard !endpoints.isEmpty else {
                throw ToolError.invalidArgument("unknown cluster '\(cluster)' (not in FLARE_INDEX_SERVERS)")
            }
            return endpoints
        }
        if let endpoints = clusterListing(nodeArguments) {
            return endpoints
        }
        return try explicitOrDefault(choice)
    }

    private func explicitOrDefault(_ choice: IndexServerChoice) throws -> [Endpoint] {
        // Each item of FLARE_INDEX_SERVER's list; an item without a port takes the default's.
        var environmentItems: [(host: String?, port: String?)] = []
        if let value = environment["FLARE_INDEX_SERVER"] {
            environmentItems = value.split(separator: ",", omittingEmptySubsequences: false).map { Self.hostAndPort(String($0)) }
        }
        var items: [(host: String?, port: String?)] = []
        if let server = choice.server {
            items = server.split(separator: ",", omittingEmptySubsequences: false).map { Self.hostAndPort(String($0)) }
            if items.contains(where: { $0.port != nil }) && choice.port != nil {
                throw ToolError.invalidArgument("--index-server-port option isn't allowed.")
            }
        }
        if items.isEmpty { items = environmentItems.isEmpty ? [(nil, nil)] : environmentItems }
        let environmentDefault = environmentItems.first
        return try items.map { item in
            let finalPort = item.port ?? choice.port.map(String.init) ?? environmentDefault?.port ?? String(Self.defaultPort)
            guard let number = Int(finalPort), (1...65535).contains(number) else {
                throw ToolError.invalidArgument("invalid index server port '\(finalPort)'")
            }
            return Endpoint(host: item.host ?? environmentDefault?.host ?? Self.defaultHost, port: finalPort)
        }
    }

    private static func hostAndPort(_ text: String) -> (host: String?, port: String?) {
        let parts = text.trimmingSpaces().split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        return (parts[0].isEmpty ? nil : parts[0], parts.count > 1 && !parts[1].isEmpty ? parts[1] : nil)
    }

    private func clusterListing(_ arguments: [String]) -> [Endpoint]? {
        guard !arguments.isEmpty, environment["FLARE_INDEX_SERVERS"] != nil else { return nil }
        var keys: [String] = []
        for argument in arguments {
            let parts = argument.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count >= 2 else { return nil }
            keys.append("\(parts[0]):\(parts[1])")
        }
        // The first cluster one of whose index servers lists every node; that server first.
        guard let found = clusters().first(where: { listsAllNodes($0.endpoint, keys) }) else { return nil }
        return [found.endpoint] + clusters().filter { $0.name == found.name && $0.endpoint != found.endpoint }.map(\.endpoint)
    }

    private func clusters() -> [(name: String, endpoint: Endpoint)] {
        (environment["FLARE_INDEX_SERVERS"] ?? "").split(separator: ";").compactMap { entry in
            let parts = entry.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard parts.count >= 3 else { return nil }
            return (parts[0], Endpoint(host: parts[1], port: parts[2]))
        }
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        var text = Substring(self)
        while text.first == " " { text.removeFirst() }
        while text.last == " " { text.removeLast() }
        return String(text)
    }
}
