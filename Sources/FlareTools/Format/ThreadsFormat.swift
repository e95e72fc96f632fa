/// `threads` output: `%5s %-32s %-13s %4s %8s` (id, peer, operation, type, queue), threads
/// sorted by (peer, id) as text, `-` for an idle thread's empty operation.
public enum ThreadsFormat {
    public static func render(_ table: ThreadTable) -> String {
        let sorted = table.threads.sorted { ($0["peer"] ?? "", $0.id) < ($1["peer"] ?? "", $1.id) }
        let lines = [line("id", "peer", "operation", "type", "queue")]
            + sorted.map { line($0.id, $0["peer"] ?? "", $0["op"] ?? "-", $0["type"] ?? "", $0["queue"] ?? "") }
        return lines.map { $0 + "\n" }.joined()
    }

    private static func line(_ id: String, _ peer: String, _ operation: String, _ type: String, _ queue: String) -> String {
        [Printf.right(id, 5), Printf.left(peer, 32), Printf.left(operation, 13), Printf.right(type, 4),
         Printf.right(queue, 8)].joined(separator: " ")
    }
}
