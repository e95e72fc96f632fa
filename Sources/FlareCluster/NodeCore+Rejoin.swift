/// `rejoin-as-slave`: a node that restarts after failing comes back as a proxy (as in flare), so it
/// never serves stale data as a master. With this setting it then asks to become a slave of the
/// partition it served before, copies it afresh and catches up, like a restarted Raft follower.
extension NodeCore {
    /// Once the index lists this node as an active proxy: clear the local data and ask to become a
    /// slave of the former partition; the index's push then starts the usual slave construction.
    mutating func advanceRejoin(_ effects: inout [NodeEffect]) {
        guard case .waiting(let partition, let retryAt, let giveUpAt) = rejoin, now >= retryAt else { return }
        guard registered, let me else {
            if now >= giveUpAt {
                effects.append(.log(.error, "rejoin-as-slave: gave up; the node stays a proxy"))
                rejoin = nil
            }
            return
        }
        guard me.role == .proxy else {
            effects.append(.log(.notice, "rejoin-as-slave: the index kept this node as \(me.role.name) of partition \(me.partition); nothing to do"))
            rejoin = nil
            return
        }
        guard me.state == .active else {
            if now >= giveUpAt {
                effects.append(.log(.error, "rejoin-as-slave: gave up; the node stays a proxy"))
                rejoin = nil
            }
            return
        }
        let line = "node role \(me.name) \(me.port) slave 0 \(partition)"
        effects.append(.clearData)
        effects.append(.tellIndex(line))
        rejoin = .asked(partition: partition, line: line, giveUpAt: giveUpAt)
    }
}
