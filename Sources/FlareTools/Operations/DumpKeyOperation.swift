/// `dumpkey [hostname:port … | --all] [-p P] [-s S]`: the keys of nodes with `dump_key`,
/// `dump_key P` or `dump_key P S` (flared rejects `dump_key P` alone with `ERROR`), one per line.
public struct DumpKeyOperation {
    public var nodes: [NodeAddress]
    public var all = false
    public var format = DumpFormat.standard
    public var outputPath: String?
    public var partition: Int?
    public var partitionCount: Int?

    public init(nodes: [NodeAddress], all: Bool = false, format: DumpFormat = .standard, outputPath: String? = nil,
                partition: Int? = nil, partitionCount: Int? = nil) {
        self.nodes = nodes
        self.all = all
        self.format = format
        self.outputPath = outputPath
        self.partition = partition
        self.partitionCount = partitionCount
    }

    public func run(_ session: ToolSession) throws -> ToolStatus {
        if all && !nodes.isEmpty { throw ToolError.invalidArgument("don't specify any nodes with --all option.") }
        if !all && nodes.isEmpty { throw ToolError.invalidArgument("please specify --all option to get complete dump.") }
        var targets = nodes
        if all {
            let map = try session.withIndex { try $0.statsNodes() }
            targets = map.masterKeys.compactMap { map[$0] }.map { NodeAddress(host: $0.host, port: $0.port) }
        }
        let writer = DumpWriter(format: format, sink: try outputPath.map { try FileSink(path: $0) } ?? session.console.out)
        writer.writeKeyHeader()
        var status = ToolStatus.success
        for address in targets {
            let end = try session.withNode(address.endpoint) { node in
                try node.dumpKey(partition: partition, partitionCount: partition == nil ? nil : partitionCount) { writer.write(key: $0) }
            }
            if case .failed(let line) = end {
                session.console.note("dump_key from \(address.key) failed: \(line)")
                status = .failure
            }
        }
        return status
    }
}
