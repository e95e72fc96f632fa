/// `rejoin-as-slave`: a node that restarts after failing comes back as a proxy (as in flare), so it
/// never serves stale data as a master. With this setting it then asks to become a slave of the
/// partition it served before and catches up, like a restarted Raft follower: from its master's
/// backlog when it was a slave of that master and recorded how far it got, else by a full copy.
extension NodeCore {
    /// Keeps a former slave's progress for the rejoin; a former master always copies afresh (its
    /// data may hold writes the new master never received), as does a slave without a record.
    mutating func keepProgress(formerRole: NodeRole?, formerPartition: Int?, _ progress: SlaveProgress?,
                               _ effects: inout [NodeEffect]) {
        guard let progress else { return }
        guard formerRole == .slave, progress.partition == formerPartition else {
            effects.append(.log(.notice, "rejoin-as-slave: this node was \(formerRole?.name ?? "not a slave"): it will copy its partition afresh"))
            return
        }
        self.progress = progress
        effects.append(.log(.notice, "rejoin-as-slave: this node applied copies of partition \(progress.partition) from \(progress.master) up to version \(progress.appliedVersion) (node map version \(progress.mapVersion)): it keeps its data and will try that master's backlog"))
    }

    /// Starts a rejoining slave's construction: the master's backlog when this node recorded its
    /// progress under the same master, else a full copy from empty data.
    mutating func startSlaveConstruction(_ construction: NodeConstruction, master: NodeEntry, count: Int,
                                         _ effects: inout [NodeEffect]) {
        guard let progress else {
            effects.append(.construct(construction))
            return
        }
        self.progress = nil
        guard progress.master == master.nodeKey, progress.partition == construction.partition else {
            effects.append(.log(.notice, "rejoin-as-slave: the master of partition \(construction.partition) is now \(master.nodeKey), not \(progress.master): full copy"))
            effects.append(.clearData)
            effects.append(.construct(construction))
            return
        }
        fallback = construction
        effects.append(.catchUp(.init(node: master, request: "backlog \(progress.appliedVersion) \(construction.partition) \(count)")))
    }

    mutating func catchUpFinished(_ outcome: CatchUpOutcome, _ effects: inout [NodeEffect]) {
        guard let fallback, let pending = construction else { return }
        self.fallback = nil
        switch outcome {
        case .caughtUp(let copies, let milliseconds):
            effects.append(.log(.notice, "caught up \(copies) copies from the backlog in \(milliseconds) ms"))
            constructionFinished(ok: true, &effects)
        case .failed(let reason):
            effects.append(.log(.notice, "\(reason): full copy"))
            construction = pending
            effects.append(.clearData)
            effects.append(.construct(fallback))
        }
    }

    /// Once the index lists this node as an active proxy: clear the local data and ask to become a
    /// slave of the former partition; the index's push then starts the usual slave construction.
    mutating func advanceRejoin(_ effects: inout [NodeEffect]) {
        guard case .waiting(let partition, let retryAt, let giveUpAt) = rejoin, now >= retryAt else { return }
        guard registered, let me else {
            if now >= giveUpAt {
                effects.append(.log(.error, "rejoin-as-slave: gave up; the node stays a proxy"))
                rejoin = nil
                progress = nil
            }
            return
        }
        guard me.role == .proxy else {
            effects.append(.log(.notice, "rejoin-as-slave: the index kept this node as \(me.role.name) of partition \(me.partition); nothing to do"))
            rejoin = nil
            progress = nil
            return
        }
        guard me.state == .active else {
            if now >= giveUpAt {
                effects.append(.log(.error, "rejoin-as-slave: gave up; the node stays a proxy"))
                rejoin = nil
                progress = nil
            }
            return
        }
        let line = "node role \(me.name) \(me.port) slave 0 \(partition)"
        // A node that will try the backlog keeps its data; clearing it then would lose the base.
        if progress == nil { effects.append(.clearData) }
        effects.append(.tellIndex(line))
        rejoin = .asked(partition: partition, line: line, giveUpAt: giveUpAt)
    }
}
