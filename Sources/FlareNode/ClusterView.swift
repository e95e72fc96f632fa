import FlareCluster

/// One immutable snapshot of the cluster as this node sees it: the node map, the partition
/// tables derived from it and the key resolver. Workers each hold a reference to the current one,
/// replaced (never mutated) when the index pushes a new map, so routing takes no lock.
public final class ClusterView: Sendable {
    /// The rules themselves, shared with the cluster simulation (FlareCluster.WriteRouting).
    public let routing: WriteRouting
    public let version: UInt64
    public var selfKey: String { routing.selfKey }
    /// No index server: this node is the whole cluster.
    public var standalone: Bool { routing.standalone }
    public var map: NodeMap { routing.map }
    public var layout: PartitionLayout { routing.layout }
    public var resolver: KeyResolver { routing.resolver }
    public var me: NodeEntry? { routing.me }
    /// The partition this node is the active master of, or -1.
    public var masterOf: Int { routing.masterOf }
    /// This node's slaves (not down) when it is an active master; `waitFor` marks the active ones,
    /// which a synchronous write waits for.
    public var slaves: [ReplicaTarget] { routing.slaves }

    /// The era fence on copies received under this map (see CopyFloors).
    public let copyFloors: CopyFloors
    /// When this node masters a partition that was added while it was its preparing master: the
    /// version of the first map in which it was active. Copies of the keys that moved, made by
    /// their old master before that map, may still be in flight and are applied (see acceptsCopy).
    public let handOffVersion: UInt64?

    /// `previous`: the view installed before this one, whose floors this one continues.
    public init(selfKey: String, standalone: Bool, map: NodeMap, version: UInt64, layout: PartitionLayout, resolver: KeyResolver,
                previous: ClusterView? = nil) {
        routing = WriteRouting(selfKey: selfKey, standalone: standalone, map: map, layout: layout, resolver: resolver)
        self.version = version
        copyFloors = (previous?.copyFloors ?? CopyFloors()).next(map: map, version: version)
        mayReplicate = routing.mayReplicate
        let me = routing.me
        if let me, me.role == .master, me.state == .active, let before = previous?.me, before.role == .master,
           before.partition == me.partition {
            handOffVersion = before.state == .prepare || before.state == .ready ? version : previous?.handOffVersion
        } else {
            handOffVersion = nil
        }
    }

    /// The view of a node with no index server: master of partition 0, alone.
    public static func standalone(name: String, port: Int, resolver: KeyResolver) -> ClusterView {
        let me = NodeEntry(name: name, port: port, role: .master, state: .active, partition: 0, balance: 1, threadType: 16)
        let map = (try? NodeMap([me])) ?? NodeMap()
        let layout = (try? map.partitionLayout()) ?? .empty
        return ClusterView(selfKey: me.nodeKey, standalone: true, map: map, version: 0, layout: layout, resolver: resolver)
    }

    /// Writes go to the master of the key's partition (docs/routing.md, "Writes").
    @inline(__always)
    public func routeWrite(_ key: UnsafeRawBufferPointer) -> Route { routing.routeWrite(key) }

    /// Reads: the master, an active slave with a read weight, or a node of the read multiset.
    @inline(__always)
    public func routeRead(_ key: UnsafeRawBufferPointer) -> Route { routing.routeRead(key) }
    @inline(__always)
    public func routeRead(_ key: UnsafeRawBufferPointer, using generator: inout ReaderRandom) -> Route {
        routing.routeRead(key, using: &generator)
    }

    /// `routeWrite` and `routeRead` with the other node resolved, for the request path.
    @inline(__always)
    public func writeOwner(_ key: UnsafeRawBufferPointer) -> Owner { routing.writeOwner(key) }
    @inline(__always)
    public func readOwner(_ key: UnsafeRawBufferPointer, using generator: inout ReaderRandom) -> Owner {
        routing.readOwner(key, using: &generator)
    }

    /// Whether a copy of `key` that `sender` stamped with map version `stamp` may be applied here:
    /// the sender is the source of the key's copies in this map, and the copy was made in the
    /// sender's present era.
    public func acceptsCopy(of key: UnsafeRawBufferPointer, from sender: String, stamp: UInt64) -> Bool {
        acceptsCopy(of: key, from: sender, stamp: stamp, floor: copyFloors.floor(for: sender))
    }

    /// `acceptsCopy` with the sender's floor (`copyFloors.floor(for: sender)` of this view) looked
    /// up already: a slave receives one master's copies, and remembers its floor per view.
    public func acceptsCopy(of key: UnsafeRawBufferPointer, from sender: String, stamp: UInt64, floor: UInt64) -> Bool {
        guard stamp > floor else { return false }
        if routing.acceptsReplica(of: key, from: sender) { return true }
        // A partition just added: the old master of a key that moved here may still deliver
        // copies it made while the key was moving (made under maps before the activation; after
        // it, that master forwards such writes here instead).
        guard let handOffVersion, stamp < handOffVersion, let me = routing.me else { return false }
        let count = layout.activeCount
        guard count > 1, me.partition == count - 1, resolver.partition(of: key, count: count) == me.partition else { return false }
        let before = resolver.partition(of: key, count: count - 1)
        return layout.master(of: before)?.nodeKey == sender
    }

    /// Whether a replicated write of `key` sent by `sender` may be applied here (WriteRouting.acceptsReplica).
    public func acceptsReplica(of key: UnsafeRawBufferPointer, from sender: String) -> Bool {
        routing.acceptsReplica(of: key, from: sender)
    }

    /// Where a write executed here is copied (docs/routing.md, "Copies").
    public func replicaTargets(for key: UnsafeRawBufferPointer) -> [ReplicaTarget] { routing.replicaTargets(for: key) }

    /// Every node some write here may be copied to: the destinations of this node's streams.
    public var allReplicaTargets: [NodeEntry] { routing.allReplicaTargets }

    /// Whether any write here may need copying; false lets the common case skip the work.
    /// Stored: read for every write.
    public let mayReplicate: Bool

    /// `stats nodes` lines (without `END`, each with CRLF).
    public var statsNodesLines: String { map.statsNodesLines }
}
