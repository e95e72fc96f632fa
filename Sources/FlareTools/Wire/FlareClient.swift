/// The requests of the original `Stats`, `Node` and `IndexServer` client classes, with their
/// exact templates (docs/original-behaviour.md, "Tools and their wire formats"), on top of one FlareConnection.
public final class FlareClient {
    public let connection: FlareConnection

    public init(connection: FlareConnection) {
        self.connection = connection
    }

    public var endpoint: Endpoint { connection.endpoint }

    /// `stats nodes` (index or node).
    public func statsNodes() throws -> NodeStatMap {
        try parsed("stats nodes") { try NodeStatMap(payload: $0) }
    }

    /// `stats`.
    public func stats() throws -> ServerStats {
        try parsed("stats") { ServerStats(payload: $0) }
    }

    /// `stats threads`, only asked of servers ≥ 1.0.10 (older ones yield an empty table).
    public func statsThreads(filter: String? = nil) throws -> ThreadTable {
        guard connection.serverVersion.supportsThreadStats else { return ThreadTable(threads: []) }
        return try parsed(filter.map { "stats threads \($0)" } ?? "stats threads") { try ThreadTable(payload: $0) }
    }

    /// `meta` (index only).
    public func meta() throws -> MetaInfo {
        try parsed("meta") { MetaInfo(payload: $0) }
    }

    /// `ping`: true when the server answered `OK`.
    public func ping() throws -> Bool {
        try connection.request("ping").succeeded
    }

    /// `node role <host> <port> <role> <balance> <partition>` (the port is sent as a number).
    public func setRole(host: String, port: String, role: String, balance: Int, partition: Int) throws -> GenericReply {
        try connection.request("node role \(host) \(RubyNumber.integer(port)) \(role) \(balance) \(partition)")
    }

    /// `node state <host> <port> <state>`.
    public func setState(host: String, port: String, state: String) throws -> GenericReply {
        try connection.request("node state \(host) \(port) \(state)")
    }

    /// `node remove <host> <port>`.
    public func nodeRemove(host: String, port: String) throws -> GenericReply {
        try connection.request("node remove \(host) \(port)")
    }

    /// `flush_all` (node).
    public func flushAll() throws -> GenericReply {
        try connection.request("flush_all")
    }

    /// `set <key> <flag> <expire> <len>` + data.
    public func set(key: String, value: [UInt8], flag: Int = 0, expire: Int = 0) throws -> GenericReply {
        try connection.request("set \(key) \(flag) \(expire) \(value.count)", data: value)
    }

    /// `delete <key>`.
    public func delete(key: String) throws -> GenericReply {
        try connection.request("delete \(key)")
    }

    /// `dump <wait> <partition> <partition count> <bwlimit KiB/s>`, streaming each item.
    public func dump(wait: Int, partition: Int, partitionCount: Int, bandwidthLimit: Int,
                     onItem: (DumpedItem) throws -> Void) throws -> StreamEnd {
        try connection.requestItems("dump \(wait) \(partition) \(partitionCount) \(bandwidthLimit)", onItem: onItem)
    }

    /// `dump_key`, `dump_key P` or `dump_key P S`, depending on what is given.
    public func dumpKey(partition: Int?, partitionCount: Int?, onKey: (String) throws -> Void) throws -> StreamEnd {
        var line = "dump_key"
        if let partition {
            line += " \(partition)"
            if let partitionCount { line += " \(partitionCount)" }
        }
        return try connection.requestKeys(line, onKey: onKey)
    }

    /// Sends `quit` and closes.
    public func close() {
        connection.close()
    }

    private func parsed<T>(_ request: String, _ parse: ([String]) throws -> T) throws -> T {
        switch try connection.request(request) {
        case .success(let payload):
            do {
                return try parse(payload)
            } catch let error as ReplyFormatError {
                throw ToolError.unexpectedReply(connection.peer, connection.endpoint, request: request, line: error.line)
            }
        case .failure(let line):
            throw ToolError.unexpectedReply(connection.peer, connection.endpoint, request: request, line: line)
        }
    }
}
