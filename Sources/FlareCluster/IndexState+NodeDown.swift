/// The node down procedure and fail-over and `shutdown` (docs/original-behaviour.md, "Index server commands").
extension IndexState {
    /// `shutdown <name> <port>` from a flared receiving SIGTERM: node down in shutdown mode.
    public mutating func shutdownNode(name: String, port: Int) throws(IndexCommandError) -> IndexChange {
        try nodeDown(nodeKey: NodeEntry.nodeKey(name: name, port: port), shutdown: true)
    }

    /// Takes a node down: monitor threshold reached, `node state … down`, or `shutdown`.
    ///
    /// * An active master hands its partition to its active slave with the greatest balance
    ///   (ties: first in node-key order), pushed to first; its other active slaves go back to
    ///   prepare and copy the partition afresh from the new master. With no active slave it
    ///   stays master, down ("preserved"), so the partition count does not change.
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
                resyncSlaves(of: node.partition, besides: successor)
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

    /// After a fail-over the other active slaves of P go back to `prepare` and copy P afresh
    /// from the new master: the old master may have reached some of them with writes the new
    /// master never got (unacknowledged ones), and nothing else would ever remove those, so the
    /// copies of P would differ for good. The original keeps them active; here they stop taking
    /// reads and are not waited for until their copy is complete.
    private mutating func resyncSlaves(of partition: Int, besides successor: String) {
        for slave in map.listedSlaves(of: partition) where slave.state == .active && slave.nodeKey != successor {
            map.update(slave.nodeKey) { $0.state = .prepare }
        }
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
