/// The node table printed by `list` and at the end of master/slave/reconstruct/down/activate/
/// balance/remove: `%-32s %9s %6s %6s %7s` with partition -1 shown as `-`.
public enum NodeListFormat {
    public static let header = line(node: "node", partition: "partition", role: "role", state: "state", balance: "balance")

    public static func line(node: String, partition: String, role: String, state: String, balance: String) -> String {
        [Printf.left(node, 32), Printf.right(partition, 9), Printf.right(role, 6), Printf.right(state, 6),
         Printf.right(balance, 7)].joined(separator: " ")
    }

    /// One node; `displayHost` replaces the host (for `list --numeric-hosts`).
    public static func line(_ node: NodeStat, displayHost: String? = nil) -> String {
        line(node: "\(displayHost ?? node.host):\(node.port)",
             partition: node.partitionText == "-1" ? "-" : node.partitionText,
             role: node.role, state: node.state, balance: node.balanceText)
    }

    /// Header and one line per node, each newline-terminated.
    public static func render(_ nodes: [NodeStat]) -> String {
        ([header] + nodes.map { line($0) }).map { $0 + "\n" }.joined()
    }

    /// The original's `string_of_nodelist`: nodes in `stats nodes` order, restricted to `keys`
    /// unless `keys` is empty.
    public static func render(_ map: NodeStatMap, only keys: [String]) -> String {
        render(keys.isEmpty ? map.nodes : map.nodes.filter { keys.contains($0.key) })
    }
}
