/// Where flarei keeps the node map (`index-db`).
public enum IndexDatabase: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// `flare.xml` in this directory.
    case file(directory: String)
    /// A ZooKeeper ensemble (`host:port[,host:port...]`) and the znode path
    /// under which the index keeps its state.
    case zookeeper(servers: String, path: String)

    public var description: String {
        switch self {
        case let .file(directory): "file://\(directory)"
        case let .zookeeper(servers, path): "zookeeper://\(servers)\(path)"
        }
    }

    /// Parses the URI forms of `index-db` (docs/original-behaviour.md, "Configuration keys"); nil when neither form
    /// matches.
    public init?(uri: String) {
        if uri.hasPrefix("file://") {
            let directory = String(uri.dropFirst("file://".count))
            // A relative directory would depend on the daemon's working
            // directory, which changes when it daemonizes.
            guard directory.hasPrefix("/") else { return nil }
            self = .file(directory: directory)
        } else if uri.hasPrefix("zookeeper://") {
            let rest = uri.dropFirst("zookeeper://".count)
            guard let slash = rest.firstIndex(of: "/") else { return nil }
            let servers = String(rest[..<slash])
            let path = String(rest[slash...])
            guard !servers.isEmpty, path.count > 1 else { return nil }
            self = .zookeeper(servers: servers, path: path)
        } else {
            return nil
        }
    }
}
