import FlareCluster

/// Where a request for one key is executed (node-server.md §7).
public enum Route: Equatable {
    case local
    /// The cluster has no active partition yet.
    case noPartition
    /// Another node owns the key: send the request there.
    case forward(String)
    /// The owner is unknown (a preserved, down master): the request fails.
    case unavailable
}

/// One immutable snapshot of the cluster as this node sees it: the node map, the partition
/// tables derived from it and the key resolver. Workers each hold a reference to the current one,
/// replaced (never mutated) when the index pushes a new map, so routing takes no lock.
public final class ClusterView: Sendable {
    public let selfKey: String
    /// No index server: this node is the whole cluster.
    public let standalone: Bool
    public let map: NodeMap
    public let version: UInt64
    public let layout: PartitionLayout
    public let resolver: KeyResolver
    public let me: NodeEntry?
    /// Every key is local: standalone, or the master of the only partition. Spares hashing.
    private let ownsEverything: Bool

    public init(selfKey: String, standalone: Bool, map: NodeMap, version: UInt64, layout: PartitionLayout, resolver: KeyResolver) {
        self.selfKey = selfKey
        self.standalone = standalone
        self.map = map
        self.version = version
        self.layout = layout
        self.resolver = resolver
        me = map[nodeKey: selfKey]
        ownsEverything = standalone || (layout.activeCount == 1 && layout.master(of: 0)?.nodeKey == selfKey && layout.preparing == nil)
    }

    /// The view of a node with no index server: master of partition 0, alone.
    public static func standalone(name: String, port: Int, resolver: KeyResolver) -> ClusterView {
        let me = NodeEntry(name: name, port: port, role: .master, state: .active, partition: 0, balance: 1, threadType: 16)
        let map = (try? NodeMap([me])) ?? NodeMap()
        let layout = (try? map.partitionLayout()) ?? .empty
        return ClusterView(selfKey: me.nodeKey, standalone: true, map: map, version: 0, layout: layout, resolver: resolver)
    }

    /// Writes go to the master of the key's partition (node-server.md §7.2).
    @inline(__always)
    public func routeWrite(_ key: UnsafeRawBufferPointer) -> Route {
        if ownsEverything { return .local }
        let count = layout.activeCount
        guard count > 0 else { return .noPartition }
        let partition = resolver.partition(of: key, count: count)
        guard let master = layout.master(of: partition) else { return .unavailable }
        return master.nodeKey == selfKey ? .local : .forward(master.nodeKey)
    }

    /// Reads are served locally by the master and by active slaves with a read weight; otherwise
    /// by a node drawn from the partition's read multiset (node-server.md §7.1).
    @inline(__always)
    public func routeRead(_ key: UnsafeRawBufferPointer) -> Route {
        if ownsEverything { return .local }
        let count = layout.activeCount
        guard count > 0 else { return .noPartition }
        let partition = resolver.partition(of: key, count: count)
        guard let entry = layout.partition(partition) else { return .unavailable }
        if entry.master?.nodeKey == selfKey { return .local }
        if entry.slaves.contains(where: { $0.nodeKey == selfKey && $0.balance > 0 }) { return .local }
        guard let target = entry.readers.randomElement() else { return .unavailable }
        return target == selfKey ? .local : .forward(target)
    }

    /// `stats nodes` lines (without `END`, each with CRLF).
    public var statsNodesLines: String { map.statsNodesLines }
}
