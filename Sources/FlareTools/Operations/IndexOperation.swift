/// `index [--output=FILE] [--increment=N]`: a flare.xml document from `stats nodes` and the
/// index's `node_map_version` (`stats`), with `<version>` = node_map_version + N.
public struct IndexOperation {
    public var outputPath: String?
    public var increment: UInt64

    public init(outputPath: String? = nil, increment: UInt64 = 0) {
        self.outputPath = outputPath
        self.increment = increment
    }

    public func run(_ session: ToolSession) throws -> ToolStatus {
        let (map, stats) = try session.withIndex { index in (try index.statsNodes(), try index.stats()) }
        let version = RubyNumber.unsigned(stats["node_map_version"] ?? "0") &+ increment
        let document = IndexDocument.render(map, nodeMapVersion: version)
        if let outputPath {
            try FileSink(path: outputPath).write(document)
        } else {
            session.console.out.write(document)
        }
        return .success
    }
}
