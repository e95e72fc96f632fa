#if canImport(Glibc)
import Glibc
#endif
import FlareCluster
import FlareConfig
import FlareNet

/// The messages a node sends to the index server (docs/original-behaviour.md, "Node server commands"), each on a fresh
/// connection with a deadline, from a background thread.
enum IndexClient {
    struct Registration {
        let map: NodeMap
        let resolver: KeyResolver
    }

    enum Failure: Error, CustomStringConvertible {
        case unreachable(String)
        case refused(String, reply: String)
        case malformed(String, detail: String)

        var description: String {
            switch self {
            case .unreachable(let server): "index server \(server) does not answer"
            case .refused(let server, let reply): "index server \(server) refused: \(reply)"
            case .malformed(let server, let detail): "index server \(server) sent a reply we cannot read: \(detail)"
            }
        }
    }

    static let timeoutMilliseconds = 2000

    /// `node add <name> <port>` then `meta` on the same connection.
    static func register(at server: IndexServerAddress, name: String, port: Int) throws(Failure) -> Registration {
        guard let fd = LineClient.connect(host: server.name, port: server.port, timeoutMilliseconds: timeoutMilliseconds) else {
            throw .unreachable(server.description)
        }
        defer { close(fd) }
        let nodeLines = try exchange(fd, server, "node add \(name) \(port)")
        let map: NodeMap
        do {
            map = try NodeMap(nodeLines: nodeLines)
        } catch {
            throw .malformed(server.description, detail: "\(error)")
        }
        let metaLines = try exchange(fd, server, "meta")
        return Registration(map: map, resolver: try resolver(fromMeta: metaLines, server: server))
    }

    /// `shutdown <name> <port>`: tells the index we are leaving, so it does not wait for the monitor.
    static func announceShutdown(at server: IndexServerAddress, name: String, port: Int) -> Bool {
        guard let fd = LineClient.connect(host: server.name, port: server.port, timeoutMilliseconds: 1000) else { return false }
        defer { close(fd) }
        return LineClient.send(fd, "shutdown \(name) \(port)\r\n") && LineClient.readLine(fd) == "OK"
    }

    /// Sends one `node …` request to the first index server that answers; true on `OK`.
    static func command(_ line: String, servers: [IndexServerAddress]) -> Bool {
        for server in servers {
            guard let fd = LineClient.connect(host: server.name, port: server.port, timeoutMilliseconds: timeoutMilliseconds) else { continue }
            defer { close(fd) }
            guard LineClient.send(fd, line + "\r\n"), let reply = LineClient.readLine(fd) else { continue }
            return reply == "OK"
        }
        return false
    }

    /// The index's node-map version (`STAT node_map_version` of `stats`), on an open connection.
    static func mapVersion(fd: Int32, server: IndexServerAddress) -> UInt64? {
        guard let statsLines = try? exchange(fd, server, "stats"),
              let versionLine = statsLines.first(where: { $0.hasPrefix("STAT node_map_version ") }) else { return nil }
        return UInt64(versionLine.dropFirst("STAT node_map_version ".count))
    }

    /// The answer to a lease renewal, with the index's node-map version.
    enum LeaseAnswer: Equatable {
        case granted(version: UInt64)
        /// `SERVER_ERROR lease revoked` (the index is failing this node over), or `ERROR` from an
        /// index that grants no leases: the index answered, but the lease is not renewed.
        case refused(version: UInt64)
        /// With several index servers only the leading one grants leases; the others name it
        /// (`SERVER_ERROR not the leading index server; the leader is <name>:<port>`), or say
        /// that none leads right now (`leader` nil).
        case notLeading(leader: IndexServerAddress?)

        var isGranted: Bool { if case .granted = self { true } else { false } }

        var version: UInt64 {
            switch self {
            case .granted(let version), .refused(let version): version
            case .notLeading: 0
            }
        }
    }

    /// `lease <name> <port> <milliseconds>` on an open connection (`LEASE <version>`); after a
    /// refusal the version comes from `stats`. Nil when the index does not answer.
    static func renewLease(fd: Int32, server: IndexServerAddress, name: String, port: Int, milliseconds: Int64) -> LeaseAnswer? {
        guard LineClient.send(fd, "lease \(name) \(port) \(milliseconds)\r\n"), let line = LineClient.readLine(fd) else { return nil }
        if line.hasPrefix("LEASE "), let version = UInt64(line.dropFirst("LEASE ".count)) { return .granted(version: version) }
        if line.hasPrefix(notLeadingPrefix) { return .notLeading(leader: leader(named: line)) }
        guard line == "ERROR" || line.hasPrefix("SERVER_ERROR"), let version = mapVersion(fd: fd, server: server) else { return nil }
        return .refused(version: version)
    }

    static let notLeadingPrefix = "SERVER_ERROR not the leading index server"

    /// The `<name>:<port>` after "the leader is " in a follower's refusal.
    static func leader(named line: String) -> IndexServerAddress? {
        let marker = "the leader is "
        guard let start = line.indices.first(where: { line[$0...].hasPrefix(marker) }) else { return nil }
        let text = line[line.index(start, offsetBy: marker.count)...]
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (1...65535).contains(port), colon > text.startIndex else { return nil }
        return IndexServerAddress(name: String(text[..<colon]), port: port)
    }

    /// The index's map (`stats nodes`) on an open connection. Read after the version (of a lease
    /// renewal or `stats`), it is at least that new.
    static func currentMap(fd: Int32, server: IndexServerAddress) -> NodeMap? {
        // Callers read the version first: the other way round, a change in between paired an older
        // map with a newer version, which then replaced the node's correct map of that version (a
        // resumed ex-master went back to proxy/down).
        guard let nodeLines = try? exchange(fd, server, "stats nodes") else { return nil }
        // `STAT <name>:<port>:<field> <value>`, five lines per node in node-key order.
        var fields: [String: [String: String]] = [:]
        var order: [String] = []
        for line in nodeLines {
            let parts = line.dropFirst("STAT ".count).split(separator: " ", maxSplits: 1)
            guard parts.count == 2 else { return nil }
            let keyParts = parts[0].split(separator: ":")
            guard keyParts.count == 3 else { return nil }
            let nodeKey = "\(keyParts[0]):\(keyParts[1])"
            if fields[nodeKey] == nil { order.append(nodeKey) }
            fields[nodeKey, default: [:]][String(keyParts[2])] = String(parts[1])
        }
        var entries: [NodeEntry] = []
        for nodeKey in order {
            let f = fields[nodeKey]!
            let keyParts = nodeKey.split(separator: ":")
            guard let port = Int(keyParts[1]), let role = f["role"].flatMap({ NodeRole(name: $0) }),
                  let state = f["state"].flatMap({ NodeState(name: $0) }), let partition = f["partition"].flatMap({ Int($0) }),
                  let balance = f["balance"].flatMap({ Int($0) }), let threadType = f["thread_type"].flatMap({ Int($0) }) else { return nil }
            entries.append(NodeEntry(name: String(keyParts[0]), port: port, role: role, state: state,
                                     partition: partition, balance: balance, threadType: threadType))
        }
        return try? NodeMap(entries)
    }

    /// Whether the index still lists this node, and its node map version read just before (an index
    /// restarted without its data numbers its maps from the start again).
    static func listing(of nodeKey: String, at server: IndexServerAddress) -> (listed: Bool, indexVersion: UInt64)? {
        guard let fd = LineClient.connect(host: server.name, port: server.port, timeoutMilliseconds: timeoutMilliseconds) else { return nil }
        defer { close(fd) }
        guard let stats = try? exchange(fd, server, "stats"),
              let versionLine = stats.first(where: { $0.hasPrefix("STAT node_map_version ") }),
              let version = UInt64(versionLine.dropFirst("STAT node_map_version ".count)),
              let lines = try? exchange(fd, server, "stats nodes") else { return nil }
        return (lines.contains { $0.hasPrefix("STAT \(nodeKey):role ") }, version)
    }

    /// Sends one request and reads lines up to `END`; an error line is a refusal.
    private static func exchange(_ fd: Int32, _ server: IndexServerAddress, _ request: String) throws(Failure) -> [String] {
        guard LineClient.send(fd, request + "\r\n") else { throw .unreachable(server.description) }
        var lines: [String] = []
        while true {
            guard let line = LineClient.readLine(fd) else { throw .unreachable(server.description) }
            if line == "END" { return lines }
            if line.hasPrefix("ERROR") || line.hasPrefix("SERVER_ERROR") || line.hasPrefix("CLIENT_ERROR") {
                throw .refused(server.description, reply: "\(line) (to '\(request)')")
            }
            lines.append(line)
        }
    }

    /// The partitioning parameters from `META <name> <value>` lines (docs/original-behaviour.md, "Index server
    /// commands").
    static func resolver(fromMeta lines: [String], server: IndexServerAddress) throws(Failure) -> KeyResolver {
        var values: [String: String] = [:]
        for line in lines {
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            guard words.count == 3, words[0] == "META" else {
                throw .malformed(server.description, detail: "'\(line)' is not a META line")
            }
            values[String(words[1])] = String(words[2])
        }
        guard let algorithm = FlareCluster.KeyHashAlgorithm(rawValue: values["key-hash-algorithm"] ?? "simple") else {
            throw .malformed(server.description, detail: "unknown key-hash-algorithm '\(values["key-hash-algorithm"] ?? "")'")
        }
        let size = Int(values["partition-size"] ?? "1024") ?? -1
        let hint = Int(values["partition-modular-hint"] ?? "1") ?? -1
        let virtual = Int(values["partition-modular-virtual"] ?? "4096") ?? -1
        do {
            return try KeyResolver(algorithm: algorithm, partitionSize: size, hint: hint, virtual: virtual)
        } catch {
            throw .malformed(server.description, detail: "\(error)")
        }
    }
}
