/// What a node does when the index changes its own role (docs/node-control.md): a proxy made slave
/// copies its partition from the master; a proxy made master copies the keys of its new partition
/// from every active master. Other changes need no local action.
extension NodeCore {
    mutating func selfChanged(from old: NodeEntry, to new: NodeEntry, _ effects: inout [NodeEffect]) {
        if old.role == .slave, new.role == .slave, old.state == .active, new.state == .prepare {
            resync(new, &effects)
            return
        }
        guard old.role == .proxy, let map else { return }
        let me = "\(new.name) \(new.port)"
        let sources: [NodeConstruction.Source]
        let onSuccess: String
        switch new.role {
        case .slave:
            guard let source = slaveSource(for: new.partition, in: map) else {
                effects.append(.log(.error, "no master to copy partition \(new.partition) from: giving the slave role back"))
                effects.append(.tellIndex("node role \(me) proxy 0 -1"))
                return
            }
            sources = [source]
            onSuccess = "node state \(me) active"
        case .master:
            sources = masterSources(for: new, in: map)
            onSuccess = "node state \(me) ready"
            if sources.isEmpty {
                // The first partition of a cluster: nothing to copy.
                if new.state != .active { effects.append(.tellIndex(onSuccess)) }
                return
            }
        case .proxy:
            return
        }
        effects.append(.log(.notice, "reconstruction of partition \(new.partition) as \(new.role.name) from \(sources.map(\.node.nodeKey).joined(separator: ","))"))
        construction = PendingConstruction(entry: new, onSuccess: onSuccess)
        let full = NodeConstruction(role: new.role, partition: new.partition, sources: sources)
        if new.role == .slave, progress != nil, let master = layout.master(of: new.partition), master.nodeKey == sources[0].node.nodeKey {
            startSlaveConstruction(full, master: sources[0].node, count: layout.activeCount, &effects)
        } else {
            if progress != nil && new.role == .slave {
                effects.append(.log(.notice, "rejoin-as-slave: not a slave of an active master: full copy"))
                effects.append(.clearData)
            }
            progress = nil
            effects.append(.construct(full))
        }
    }

    /// An active slave sent back to `prepare` (its partition failed over to another slave):
    /// what it holds may include writes the new master never got, so it starts from nothing and
    /// copies the partition from the new master, then reports itself active again.
    private mutating func resync(_ new: NodeEntry, _ effects: inout [NodeEffect]) {
        let me = "\(new.name) \(new.port)"
        guard let map, let source = slaveSource(for: new.partition, in: map) else {
            effects.append(.log(.error, "partition \(new.partition) has no master to copy from: giving the slave role back"))
            effects.append(.tellIndex("node role \(me) proxy 0 -1"))
            return
        }
        effects.append(.log(.notice, "partition \(new.partition) has a new master \(source.node.nodeKey): clearing this slave's copy and copying it afresh"))
        effects.append(.clearData)
        construction = PendingConstruction(entry: new, onSuccess: "node state \(me) active")
        effects.append(.construct(NodeConstruction(role: .slave, partition: new.partition, sources: [source])))
    }

    mutating func constructionFinished(ok: Bool, _ effects: inout [NodeEffect]) {
        guard let finished = construction else { return }
        construction = nil
        let new = finished.entry
        if ok {
            // A replacement master is active already; its `ready` would be refused, harmlessly.
            if new.state == .active && new.role == .master { return }
            effects.append(.tellIndex(finished.onSuccess))
        } else {
            effects.append(.tellIndex("node role \(new.name) \(new.port) proxy 0 -1"))
        }
    }

    private func dumpRequest(partition: Int, count: Int, bwlimit: Int) -> String {
        var line = "dump \(configuration.reconstructionInterval) \(partition) \(count)"
        if bwlimit > 0 { line += " \(bwlimit)" }
        return line
    }

    /// The active master of the partition, or the preparing master when the partition is new.
    private func slaveSource(for partition: Int, in map: NodeMap) -> NodeConstruction.Source? {
        let bwlimit = configuration.reconstructionBwlimit
        if let master = layout.master(of: partition), let node = map[nodeKey: master.nodeKey] {
            return .init(node: node, request: dumpRequest(partition: partition, count: layout.activeCount, bwlimit: bwlimit))
        }
        if let preparing = layout.preparing, preparing.number == partition,
           let master = preparing.master, let node = map[nodeKey: master.nodeKey] {
            return .init(node: node, request: dumpRequest(partition: partition, count: layout.countIncludingPreparing, bwlimit: bwlimit))
        }
        return nil
    }

    /// Every other active master, each asked for the keys of the new partition.
    private func masterSources(for me: NodeEntry, in map: NodeMap) -> [NodeConstruction.Source] {
        let masters = map.entries.filter { $0.role == .master && $0.state == .active && $0.nodeKey != me.nodeKey }
        guard !masters.isEmpty else { return [] }
        let active = layout.activeCount
        // A new partition N is cut out of N+1; a replacement for a preserved partition uses the current count.
        let count = me.partition >= active ? active + 1 : layout.countIncludingPreparing
        let total = configuration.reconstructionBwlimit
        let bwlimit = total > 0 ? max(total / max(masters.count, 1), 1) : 0
        return masters.map { .init(node: $0, request: dumpRequest(partition: me.partition, count: count, bwlimit: bwlimit)) }
    }
}
