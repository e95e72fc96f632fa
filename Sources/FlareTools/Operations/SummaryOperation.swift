/// `summary`: counts partitions, nodes, masters and slaves from `stats nodes` and sums `bytes`
/// and `curr_items` of the masters from their `stats`.
public struct SummaryOperation {
    /// `--cluster` name to print instead of the index address.
    public var clusterName: String?

    public init(clusterName: String? = nil) {
        self.clusterName = clusterName
    }

    public func run(_ session: ToolSession) throws -> ToolStatus {
        let map = try session.withIndex { try $0.statsNodes() }
        var summary = ClusterSummary(name: clusterName ?? session.indexServer.description)
        var status = ToolStatus.success
        for node in map.statsOrder {
            summary.nodes += 1
            if node.isSlave { summary.slaves += 1 }
            guard node.isMaster else { continue }
            summary.masters += 1
            summary.partitions = max(summary.partitions, node.partition + 1)
            // The original connects to every node; only the masters' figures are summed, so
            // only they are asked here, and one unreachable master does not hide the rest.
            do {
                let stats = try session.withNode(node.endpoint) { try $0.stats() }
                summary.bytes += stats.integer("bytes")
                summary.items += stats.integer("curr_items")
            } catch let error as ToolError {
                session.console.note("\(error)")
                status = .failure
            }
        }
        session.console.out.write(SummaryFormat.render(summary))
        return status
    }
}
