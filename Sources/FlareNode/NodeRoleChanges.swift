import FlareCluster
import FlareConfig
import FlareNet

/// What a node does when the index changes its own role (node-server.md §8.1): a proxy made slave
/// copies its partition from the master; a proxy made master copies the keys of its new partition
/// from every active master. Other changes need no local action.
struct NodeRoleChanges {
    let context: NodeContext
    let membership: NodeMembership
    let clock: ServerClock

    func selfChanged(from old: NodeEntry, to new: NodeEntry, in view: ClusterView) {
        guard old.role == .proxy else { return }
        let settings = membership.currentSettings
        let me = "\(new.name) \(new.port)"
        let sources: [Reconstruction.Source]
        let onSuccess: String
        switch new.role {
        case .slave:
            guard let source = slaveSource(for: new.partition, in: view, settings: settings) else {
                context.logger.error("no master to copy partition \(new.partition) from: giving the slave role back")
                _ = membership.tellIndex("node role \(me) proxy 0 -1")
                return
            }
            sources = [source]
            onSuccess = "node state \(me) active"
        case .master:
            sources = masterSources(for: new, in: view, settings: settings)
            onSuccess = "node state \(me) ready"
            if sources.isEmpty {
                // The first partition of a cluster: nothing to copy.
                if new.state != .active { _ = membership.tellIndex(onSuccess) }
                return
            }
        case .proxy:
            return
        }
        context.logger.notice("reconstruction of partition \(new.partition) as \(new.role.name) from \(sources.map(\.node.nodeKey).joined(separator: ","))")
        let membership = self.membership
        let logger = context.logger
        let activeAlready = new.state == .active
        Reconstruction(sources: sources, store: context.store, clock: clock, logger: logger) { ok in
            if ok {
                // A replacement master is active already; its `ready` would be refused, harmlessly.
                if activeAlready && new.role == .master { return }
                if !membership.tellIndex(onSuccess) { logger.error("the index refused '\(onSuccess)'") }
            } else if !membership.tellIndex("node role \(me) proxy 0 -1") {
                logger.error("the index refused to take back our role after a failed reconstruction")
            }
        }.start()
    }

    private func dumpRequest(partition: Int, count: Int, bwlimit: Int, settings: NodeSettings) -> String {
        var line = "dump \(settings.reconstructionInterval) \(partition) \(count)"
        if bwlimit > 0 { line += " \(bwlimit)" }
        return line
    }

    /// The active master of the partition, or the preparing master when the partition is new.
    private func slaveSource(for partition: Int, in view: ClusterView, settings: NodeSettings) -> Reconstruction.Source? {
        let layout = view.layout
        if let master = layout.master(of: partition), let node = view.map[nodeKey: master.nodeKey] {
            return .init(node: node, request: dumpRequest(partition: partition, count: layout.activeCount,
                                                          bwlimit: settings.reconstructionBwlimit, settings: settings))
        }
        if let preparing = layout.preparing, preparing.number == partition,
           let master = preparing.master, let node = view.map[nodeKey: master.nodeKey] {
            return .init(node: node, request: dumpRequest(partition: partition, count: layout.countIncludingPreparing,
                                                          bwlimit: settings.reconstructionBwlimit, settings: settings))
        }
        return nil
    }

    /// Every other active master, each asked for the keys of the new partition.
    private func masterSources(for me: NodeEntry, in view: ClusterView, settings: NodeSettings) -> [Reconstruction.Source] {
        let masters = view.map.entries.filter { $0.role == .master && $0.state == .active && $0.nodeKey != me.nodeKey }
        guard !masters.isEmpty else { return [] }
        let active = view.layout.activeCount
        // A new partition N is cut out of N+1; a replacement for a preserved partition uses the current count.
        let count = me.partition >= active ? active + 1 : view.layout.countIncludingPreparing
        let bwlimit = settings.reconstructionBwlimit > 0 ? max(settings.reconstructionBwlimit / max(masters.count, 1), 1) : 0
        return masters.map {
            .init(node: $0, request: dumpRequest(partition: me.partition, count: count, bwlimit: bwlimit, settings: settings))
        }
    }
}
