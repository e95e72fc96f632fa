/// The node down procedure and fail-over (index-server.md §6), and `shutdown` (§2.7).
extension IndexState {
    /// `shutdown <name> <port>` from a flared receiving SIGTERM: node down in shutdown mode.
    public mutating func shutdownNode(name: String, port: Int) throws(IndexCommandError) -> IndexChange {
        try nodeDown(nodeKey: NodeEntry.nodeKey(name: name, port: port), shutdown: true)
    }

    /// Takes a node down: monitor threshold reached, `node state … down`, or `shutdown`.
    ///
    /// * An active master hands its partition to its active slave with the greatest balance
    ///   (ties: first in node-key order), pushed to first. With no active slave it stays
    ///   master, down ("preserved"), so the partition count does not change.
    /// * A preparing or ready master cancels the partition addition: its slaves become active
    ///   proxies.
    /// * Whoever is not preserved ends up `proxy/down/-1/0`.
    ///
    /// In shutdown mode the stopping node is not pushed to, except an active master, which
    /// must still learn that it lost its role.
    public mutating func nodeDown(nodeKey key: String, shutdown: Bool) throws(IndexCommandError) -> IndexChange {
        guard var node = map[nodeKey: key] else { throw .noSuchNode(key) }
        guard node.state != .down else { return .unchanged }

        var priority: [String] = []
        var preserved = false
        switch (node.role, node.state) {
        case (.master, .active):
            if let successor = promoteSlave(of: node.partition) {
                priority = [successor]
            } else {
                preserved = true
            }
        case (.master, .prepare), (.master, .ready):
            for slave in map.preparingSlaves(of: node.partition) {
                map.update(slave.nodeKey) { $0.becomeActiveProxy() }
            }
        default:
            break
        }

        let skipPush = shutdown && !(node.role == .master && node.state == .active) ? key : nil
        if preserved {
            node.state = .down
        } else {
            node.becomeDownProxy()
        }
        map.upsert(node)
        return IndexChange(priority: priority, skipPush: skipPush)
    }

    /// Makes the best active slave of P its master and returns its key; nil when P has no
    /// active slave.
    private mutating func promoteSlave(of partition: Int) -> String? {
        // Only an active slave has a complete copy; slaves still copying count as balance 0,
        // both for the choice and for the sum below.
        let candidates = map.listedSlaves(of: partition).filter { $0.state == .active }
        guard var successor = candidates.first else { return nil }
        for candidate in candidates.dropFirst() where candidate.balance > successor.balance {
            successor = candidate
        }
        let totalSlaveBalance = candidates.reduce(0) { $0 + $1.balance }
        successor.role = .master
        // If no slave took reads, the new master alone would leave the partition unreadable.
        if totalSlaveBalance == 0 { successor.balance += 1 }
        map.upsert(successor)
        return successor.nodeKey
    }
}
