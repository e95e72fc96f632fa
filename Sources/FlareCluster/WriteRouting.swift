/// Where a request for one key is executed (docs/routing.md).
public enum Route: Equatable, Sendable {
    case local
    /// The cluster has no active partition yet.
    case noPartition
    /// Another node owns the key: send the request there.
    case forward(String)
    /// The owner is unknown (a preserved, down master): the request fails.
    case unavailable
}

/// Another node a request can be sent to, resolved once per map so that routing a request
/// formats and compares no strings: its node key and its position in the map's entries (-1 if
/// the map does not list it, which a map-derived layout never does).
public struct Peer: Sendable, Equatable {
    public let nodeKey: String
    public let position: Int

    public init(nodeKey: String, position: Int) {
        self.nodeKey = nodeKey
        self.position = position
    }
}

/// Where a request for one key is executed, with the forwarding target resolved (`Route` with a
/// `Peer` instead of a node key).
public enum Owner: Sendable, Equatable {
    case local
    case noPartition
    case forward(Peer)
    case unavailable

    public var route: Route {
        switch self {
        case .local: .local
        case .noPartition: .noPartition
        case .forward(let peer): .forward(peer.nodeKey)
        case .unavailable: .unavailable
        }
    }
}

/// One active partition's routes, precomputed from the tables.
struct PartitionRoutes: Sendable {
    /// The master, nil for a preserved master that is down; `.local` if it is this node.
    let write: Owner
    /// This node reads the partition itself (its master, or an active slave with a read weight).
    let readsLocally: Bool
    /// The read multiset, as `Partition.readers`; nil entries are this node.
    let readers: [Peer?]
}

/// A node that receives copies of this node's writes.
public struct ReplicaTarget: Sendable, Equatable {
    public let node: NodeEntry
    /// A synchronous write waits for this copy (active slaves); copies to nodes still being built
    /// are sent but not waited for.
    public let waitFor: Bool

    public init(node: NodeEntry, waitFor: Bool) {
        self.node = node
        self.waitFor = waitFor
    }
}

/// The routing and replication rules of one node under one map, as pure functions of (this node,
/// map, partition tables, resolver, key, sender). The node's `ClusterView` wraps one; the cluster
/// simulation calls the same rules, so what it checks is what the node decides.
public struct WriteRouting: Sendable {
    public let selfKey: String
    /// No index server: this node is the whole cluster.
    public let standalone: Bool
    public let map: NodeMap
    public let layout: PartitionLayout
    public let resolver: KeyResolver
    public let me: NodeEntry?
    /// The partition this node is the active master of, or -1.
    public let masterOf: Int
    /// This node's slaves (not down) when it is an active master; `waitFor` marks the active ones,
    /// which a synchronous write waits for.
    public let slaves: [ReplicaTarget]
    /// Every key is local: standalone, or the master of the only partition. Spares hashing.
    public let ownsEverything: Bool
    /// The partition being added and its master, while one is.
    let preparingMaster: NodeEntry?
    /// Slaves of the preparing partition when this node is its master.
    let preparingSlaves: [ReplicaTarget]
    /// `routes[p]`: active partition p's owners.
    let routes: [PartitionRoutes]

    public init(selfKey: String, standalone: Bool, map: NodeMap, layout: PartitionLayout, resolver: KeyResolver) {
        self.selfKey = selfKey
        self.standalone = standalone
        self.map = map
        self.layout = layout
        self.resolver = resolver
        let me = map[nodeKey: selfKey]
        self.me = me
        let masterOf = (me?.role == .master && me?.state == .active) ? me!.partition : -1
        self.masterOf = masterOf
        func targets(_ members: [PartitionMember]) -> [ReplicaTarget] {
            members.compactMap { member in
                map[nodeKey: member.nodeKey].map { ReplicaTarget(node: $0, waitFor: $0.state == .active) }
            }
        }
        slaves = masterOf >= 0 ? targets(layout.partition(masterOf)?.slaves ?? []) : []
        preparingMaster = layout.preparing?.master.flatMap { map[nodeKey: $0.nodeKey] }
        preparingSlaves = preparingMaster?.nodeKey == selfKey ? targets(layout.preparing?.slaves ?? []) : []
        ownsEverything = standalone || (layout.activeCount == 1 && masterOf == 0 && layout.preparing == nil && slaves.isEmpty)
        func peer(_ nodeKey: String) -> Peer? {
            nodeKey == selfKey ? nil : Peer(nodeKey: nodeKey, position: map.position(of: nodeKey) ?? -1)
        }
        // The read multiset holds each node `balance` times in a row (up to 65,535): resolve a node
        // once per run, not once per entry (a binary search of the map with string comparisons), so
        // that a map with large read weights costs a node no more than a copy of the multiset.
        func peers(_ readers: [String]) -> [Peer?] {
            var resolved: [Peer?] = []
            resolved.reserveCapacity(readers.count)
            var run: (nodeKey: String, peer: Peer?)?
            for nodeKey in readers {
                if run?.nodeKey != nodeKey { run = (nodeKey, peer(nodeKey)) }
                resolved.append(run!.peer)
            }
            return resolved
        }
        routes = layout.active.map { partition in
            let write: Owner = partition.master.map { master in peer(master.nodeKey).map { .forward($0) } ?? .local } ?? .unavailable
            let readsLocally = partition.master?.nodeKey == selfKey
                || partition.slaves.contains { $0.nodeKey == selfKey && $0.balance > 0 }
            return PartitionRoutes(write: write, readsLocally: readsLocally, readers: peers(partition.readers))
        }
    }

    /// Writes go to the master of the key's partition (docs/routing.md, "Writes").
    @inline(__always)
    public func routeWrite(_ key: UnsafeRawBufferPointer) -> Route { writeOwner(key).route }

    /// `routeWrite` with the master resolved to a `Peer`.
    @inline(__always)
    public func writeOwner(_ key: UnsafeRawBufferPointer) -> Owner {
        if ownsEverything { return .local }
        let count = routes.count
        guard count > 0 else { return .noPartition }
        // More partitions than the resolver can place gives its noPartition sentinel.
        let partition = resolver.partition(of: key, count: count)
        guard routes.indices.contains(partition) else { return .unavailable }
        return routes[partition].write
    }

    /// Reads are served locally by the master and by active slaves with a read weight; otherwise
    /// by a node drawn from the partition's read multiset (docs/routing.md, "Reads").
    public func routeRead(_ key: UnsafeRawBufferPointer) -> Route {
        var generator = SystemRandomNumberGenerator()
        return routeRead(key, using: &generator)
    }

    /// `routeRead` drawing the reader from `generator` (a worker's own, so that routing a read
    /// costs no system call).
    @inline(__always)
    public func routeRead(_ key: UnsafeRawBufferPointer, using generator: inout some RandomNumberGenerator) -> Route {
        readOwner(key, using: &generator).route
    }

    /// `routeRead` with the reader resolved to a `Peer`.
    @inline(__always)
    public func readOwner(_ key: UnsafeRawBufferPointer, using generator: inout some RandomNumberGenerator) -> Owner {
        if ownsEverything { return .local }
        let count = routes.count
        guard count > 0 else { return .noPartition }
        let number = resolver.partition(of: key, count: count)
        guard routes.indices.contains(number) else { return .unavailable }
        let partition = routes[number]
        if partition.readsLocally { return .local }
        guard let target = partition.readers.randomElement(using: &generator) else { return .unavailable }
        return target.map { .forward($0) } ?? .local
    }

    /// Whether a replicated write of `key` sent by `sender` may be applied here (this node then
    /// applies it as a copy, not as the key's master). Only the node this node's own map names as
    /// the source of the key's copies qualifies: the active master of the key's partition, or, for
    /// a key moving to the partition being added, the master of the partition it moves from (for
    /// the new master itself) and the new master (for its slaves). Anything else comes from a
    /// demoted master or a confused proxy and must not be applied: that is the fence that keeps a
    /// replaced master's late copies out.
    public func acceptsReplica(of key: UnsafeRawBufferPointer, from sender: String) -> Bool {
        if standalone { return false }
        guard let me, me.state != .down, me.role != .proxy else { return false }
        let count = layout.activeCount
        if count > 0, me.role == .slave, me.partition == resolver.partition(of: key, count: count),
           layout.master(of: me.partition)?.nodeKey == sender {
            return true
        }
        guard let preparing = layout.preparing, me.partition == preparing.number,
              resolver.partition(of: key, count: layout.countIncludingPreparing) == preparing.number else { return false }
        if me.role == .slave { return preparing.master?.nodeKey == sender }
        // The preparing master: copies come from the master of the key's current partition.
        guard count > 0 else { return false }
        return layout.master(of: resolver.partition(of: key, count: count))?.nodeKey == sender
    }

    /// Where a write executed here is copied (docs/routing.md, "Copies"): the slaves of the partition
    /// this node masters, plus the preparing master when the key moves to the partition being
    /// added; or, on a preparing master, its own slaves.
    public func replicaTargets(for key: UnsafeRawBufferPointer) -> [ReplicaTarget] {
        if masterOf >= 0 {
            guard let preparingMaster, let preparing = layout.preparing,
                  resolver.partition(of: key, count: layout.countIncludingPreparing) == preparing.number else {
                return slaves
            }
            return slaves + [ReplicaTarget(node: preparingMaster, waitFor: false)]
        }
        return preparingSlaves
    }

    /// Every node some write here may be copied to: the destinations of this node's streams.
    public var allReplicaTargets: [NodeEntry] {
        var nodes = slaves.map(\.node) + preparingSlaves.map(\.node)
        if masterOf >= 0, let preparingMaster, preparingMaster.nodeKey != selfKey { nodes.append(preparingMaster) }
        return nodes
    }

    /// Whether any write here may need copying; false lets the common case skip the work.
    public var mayReplicate: Bool { !slaves.isEmpty || preparingMaster != nil && masterOf >= 0 || !preparingSlaves.isEmpty }
}
