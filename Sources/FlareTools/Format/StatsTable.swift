/// One node's `stats` reply as sampled by `flare-stats`, with the moment it was taken (for qps).
public struct NodeSample: Sendable {
    public let stats: ServerStats?
    public let time: Double

    public init(stats: ServerStats?, time: Double) {
        self.stats = stats
        self.time = time
    }
}

/// The `stats` table: `hostname:port state role partition balance items conn behind hit size
/// uptime version` (+ `qps qps-r qps-w`), laid out like the original's PrettyTable: headers
/// left-aligned, the first three columns left-aligned, all others right-aligned.
public enum StatsTable {
    public static let headers = ["hostname:port", "state", "role", "partition", "balance", "items", "conn",
                                 "behind", "hit", "size", "uptime", "version"]
    public static let qpsHeaders = ["qps", "qps-r", "qps-w"]

    /// The cells of one node. An unreachable node (no stats) keeps its index-side columns and
    /// leaves the stats columns empty, as the original does. The partition is shown as the
    /// index prints it (`-1` for proxies): the original's stats table overrides the `-` form.
    public static func row(node: NodeStat, sample: NodeSample?, behind: String, qps: [String]?) -> [TableCell] {
        let stats = sample?.stats
        var cells = [TableCell(node.key), TableCell(node.state), TableCell(node.role),
                     TableCell(node.partitionText, .right), TableCell(node.balanceText, .right)]
        let figures: [String]
        if let stats {
            figures = [stats["curr_items"] ?? "", stats["curr_connections"] ?? "", behind,
                       StatFigures.hitRate(getHits: stats["get_hits"], commandGets: stats["cmd_get"]),
                       StatFigures.sizeInGiB(bytes: stats["bytes"]),
                       StatFigures.shortDuration(seconds: stats.integer("uptime")), stats["version"] ?? ""]
        } else {
            figures = ["", "", behind, "", "", "", ""]
        }
        cells += figures.map { TableCell($0, .right) }
        if let qps { cells += qps.map { TableCell($0, .right) } }
        return cells
    }

    public static func render(rows: [[TableCell]], withQps: Bool, delimiter: String) -> String {
        var table = TextTable(separator: delimiter)
        table.append((headers + (withQps ? qpsHeaders : [])).map { TableCell($0) })
        rows.forEach { table.append($0) }
        return table.render()
    }
}

/// Remembers the previous `cmd_get`/`cmd_set` of every node to turn them into rates.
public struct QpsTracker {
    private var previous: [String: (total: Int, reads: Int, writes: Int, time: Double)] = [:]

    public init() {}

    /// `qps qps-r qps-w` with one decimal; `-` for the first sample of a node (and for nodes
    /// that could not be asked). A negative or zero difference counts as 0.
    public mutating func rates(for key: String, sample: NodeSample?) -> [String] {
        guard let sample, let stats = sample.stats else { return ["-", "-", "-"] }
        let reads = stats.integer("cmd_get"), writes = stats.integer("cmd_set")
        let current = (total: reads + writes, reads: reads, writes: writes, time: sample.time)
        defer { previous[key] = current }
        guard let last = previous[key], current.time > last.time else { return ["-", "-", "-"] }
        let duration = current.time - last.time
        return [current.total - last.total, current.reads - last.reads, current.writes - last.writes].map { difference in
            StatFigures.oneDecimal(difference > 0 ? Double(difference) / duration : 0)
        }
    }
}
