/// `node state <name> <port> <state>` and the node up procedure (docs/original-behaviour.md, "Index server commands").
extension IndexState {
    /// `down` runs the node down procedure, `active` the node up procedure, `ready` marks a
    /// node that finished copying; `prepare` cannot be requested.
    public mutating func setState(name: String, port: Int, state: NodeState) throws(IndexCommandError) -> IndexChange {
        let key = NodeEntry.nodeKey(name: name, port: port)
        switch state {
        case .down: return try nodeDown(nodeKey: key, shutdown: false)
        case .active: return try nodeUp(nodeKey: key)
        case .ready: return try markReady(nodeKey: key)
        case .prepare: throw IndexCommandError("state prepare cannot be set by request (\(key))")
        }
    }

    /// A node that finished copying (a new master sends this itself) waits for activation.
    private mutating func markReady(nodeKey key: String) throws(IndexCommandError) -> IndexChange {
        guard let node = map[nodeKey: key] else { throw .noSuchNode(key) }
        guard node.state == .prepare else {
            throw IndexCommandError("\(key) is \(node.state.name); only a preparing node can become ready")
        }
        map.update(key) { $0.state = .ready }
        return .saveAndPush
    }

    /// The node up procedure: `node state … active`, and the monitor seeing a down node answer
    /// again.
    ///
    /// * ready (a new master) or a preparing slave becomes active as it is; a new master's
    ///   activation is pushed first to it and then to its slaves, so they switch to N+1
    ///   partitions before anyone routes writes to them.
    /// * a down node comes back as an active proxy, except a preserved master whose partition
    ///   nobody else took over: it resumes as master.
    public mutating func nodeUp(nodeKey key: String) throws(IndexCommandError) -> IndexChange {
        guard var node = map[nodeKey: key] else { throw .noSuchNode(key) }
        var priority: [String] = []
        switch node.state {
        case .active:
            return .unchanged
        case .prepare where node.role != .slave:
            throw IndexCommandError("\(key) is a \(node.role.name) still preparing; it must be ready before it is activated")
        case .prepare, .ready:
            if node.state == .ready && node.role == .master {
                priority = [key] + map.preparingSlaves(of: node.partition).map(\.nodeKey)
            }
        case .down:
            if node.role == .master {
                // The original demotes it whenever any other node of the partition is up, even a slave
                // still copying from it, which leaves the partition with no master at all. Here it is
                // demoted only when another node actually serves the partition.
                if map.hasOtherServingNode(in: node.partition, besides: key) {
                    // Someone else serves the partition now (e.g. a replacement master).
                    node.role = .proxy
                    node.partition = -1
                    node.balance = 0
                }
            } else {
                // Going down already cleared the balance.
                node.role = .proxy
                node.partition = -1
            }
        }
        node.state = .active
        map.upsert(node)
        return IndexChange(priority: priority)
    }
}
