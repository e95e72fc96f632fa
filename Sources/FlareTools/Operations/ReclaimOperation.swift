/// `reclaim hostname:port … | --all`: after a partition was added, the old partitions still hold
/// the keys that moved to it (never read again, but counted and stored). This asks each named
/// master (or every active master with `--all`) to drop them with the node's `reclaim` command,
/// which does the same on the master's slaves; prints `<node>: reclaimed <n> items` per node.
/// An addition of this implementation (the original keeps the moved keys for good).
public struct ReclaimOperation {
    public var nodes: [NodeAddress]
    public var all = false
    public var force = false

    public init(nodes: [NodeAddress], all: Bool = false, force: Bool = false) {
        self.nodes = nodes
        self.all = all
        self.force = force
    }

    public func run(_ session: ToolSession) throws -> ToolStatus {
        if all && !nodes.isEmpty { throw ToolError.invalidArgument("don't specify any nodes with --all option.") }
        if !all && nodes.isEmpty { throw ToolError.invalidArgument("no node specified (usage: reclaim [hostname:port] ... | --all)") }
        let console = session.console
        let map = try session.withIndex { try $0.statsNodes() }
        let keys = all ? map.masterKeys.filter { map[$0]?.isActive == true } : nodes.map(\.key)
        var status = ToolStatus.success
        for key in keys {
            guard let node = map[key] else {
                console.note("unknown node: \(key)")
                status = .failure
                continue
            }
            guard node.isMaster, node.isActive else {
                console.note("\(key) is \(node.role)/\(node.state): reclaim runs on an active master (it reaches its slaves)")
                status = .failure
                continue
            }
            let prompt = "dropping the keys that moved out of partition \(node.partition) (node=\(key) and its slaves) (y/n): "
            guard force || console.confirm(prompt), !session.dryRun else { continue }
            // The node walks its whole store, then its slaves do: allow far more than one request's time.
            let reply = try session.withNode(node.endpoint, requestTimeout: max(session.timeouts.request, 3600)) {
                try $0.connection.request("reclaim")
            }
            switch reply {
            case .success(let payload):
                for line in payload {
                    let words = line.split(separator: " ")
                    if words.count == 3, words[0] == "RECLAIMED" {
                        console.say("\(words[1]): reclaimed \(words[2]) items")
                    } else {
                        console.say(line)
                    }
                }
            case .failure(let line):
                console.note("reclaim on \(key) failed: \(line)")
                status = .failure
            }
        }
        return status
    }
}
