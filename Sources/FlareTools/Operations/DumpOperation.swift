/// `dump [hostname:port[:balance:partition] … | --all]`: every item of the nodes' partitions
/// with `dump 0 <partition> <partition count> <bwlimit KiB/s>` (`--raw`: `dump 0 0 1 <bw>`,
/// everything the node stores). Items go to stdout or `--output`; per node a
/// `dumping from host:port::P of N partitions ... <count>` line goes to stderr.
public struct DumpOperation {
    public var sources: [DumpSource]
    public var all = false
    public var format = DumpFormat.standard
    public var outputPath: String?
    public var bitsPerSecond = 0
    public var raw = false

    public init(sources: [DumpSource], all: Bool = false, format: DumpFormat = .standard, outputPath: String? = nil,
                bitsPerSecond: Int = 0, raw: Bool = false) {
        self.sources = sources
        self.all = all
        self.format = format
        self.outputPath = outputPath
        self.bitsPerSecond = bitsPerSecond
        self.raw = raw
    }

    public func run(_ session: ToolSession) throws -> ToolStatus {
        if all && !sources.isEmpty { throw ToolError.invalidArgument("don't specify any nodes with --all option.") }
        if !all && sources.isEmpty { throw ToolError.invalidArgument("please specify --all option to get complete dump.") }
        let map = try session.withIndex { try $0.statsNodes() }
        let partitionCount = map.partitionCount
        let chosen = all ? map.masterKeys.compactMap { map[$0] }.map { DumpSource(address: NodeAddress(host: $0.host, port: $0.port), partition: nil) } : sources
        let writer = DumpWriter(format: format, sink: try outputPath.map { try FileSink(path: $0) } ?? session.console.out)
        writer.writeItemHeader()
        var status = ToolStatus.success
        for source in chosen {
            let key = source.address.key
            guard let partition = source.partition ?? map[key]?.partition else {
                throw ToolError.invalidArgument("unknown node \(key)")
            }
            let (part, size) = raw ? (0, 1) : (partition, partitionCount)
            session.console.err.write("dumping from \(key)::\(part) of \(size) partitions ... ")
            var count = 0
            let end = try session.withNode(source.address.endpoint) { node in
                try node.dump(wait: 0, partition: part, partitionCount: size,
                              bandwidthLimit: BandwidthLimit.kibibytesPerSecond(bitsPerSecond: bitsPerSecond)) { item in
                    writer.write(item)
                    count += 1
                }
            }
            session.console.note("\(count)")
            if case .failed(let line) = end {
                session.console.note("dump from \(key) failed: \(line)")
                status = .failure
            }
        }
        return status
    }
}
