/// Cluster totals for `summary`.
public struct ClusterSummary: Equatable, Sendable {
    public var name: String
    public var partitions = 0
    public var nodes = 0
    public var masters = 0
    public var slaves = 0
    public var bytes = 0
    public var items = 0

    public init(name: String) {
        self.name = name
    }
}

/// `summary` output: `%-30.30s%6s%6s%7s%6s%16s%13s` with no separator (the original joins the
/// formats with an unset delimiter), a header line and one line of totals.
public enum SummaryFormat {
    public static func render(_ summary: ClusterSummary) -> String {
        line(["#cluster", "part", "node", "master", "slave", "size", "items"]) + "\n"
            + line([summary.name, String(summary.partitions), String(summary.nodes), String(summary.masters),
                    String(summary.slaves), String(summary.bytes), String(summary.items)]) + "\n"
    }

    private static func line(_ fields: [String]) -> String {
        Printf.leftExact(fields[0], 30) + Printf.right(fields[1], 6) + Printf.right(fields[2], 6)
            + Printf.right(fields[3], 7) + Printf.right(fields[4], 6) + Printf.right(fields[5], 16)
            + Printf.right(fields[6], 13)
    }
}
