/// The era fence on copies. A master stamps every copy with the version of the node map it acted
/// under; a receiver applies a copy only if the stamp is newer than the last map *it* saw in
/// which the sender held another place (another role or partition, or down). A master that lost
/// its place and got it back — or that never learned it lost it — thus cannot have copies from
/// its earlier era applied once the receiver has seen the change, whatever the order in which
/// the copies and the maps arrive.
///
/// Why the stamp is always newer for a genuine copy: the sender acts as master only under a map
/// in which it holds its current place, and that map is newer than any map showing it elsewhere.
/// A master's own state moving between prepare, ready and active, or its balance changing, is
/// not a new era (its queued copies must still be applied).
///
/// Derived map by map from the previous floors; pure, shared by the node and the simulation.
public struct CopyFloors: Sendable, Equatable {
    private struct Place: Equatable, Sendable {
        let role: NodeRole
        let partition: Int
        let down: Bool

        init(_ entry: NodeEntry) {
            role = entry.role
            partition = entry.partition
            down = entry.state == .down
        }
    }

    private var places: [String: Place] = [:]
    private var floors: [String: UInt64] = [:]
    /// The version of the map these floors describe.
    public private(set) var version: UInt64 = 0

    public init() {}

    /// The floors after installing `map` of `version`, when these were the floors of the map
    /// installed before it.
    public func next(map: NodeMap, version: UInt64) -> CopyFloors {
        // Versions that go back mean an index that started over (without its data): the old
        // numbers say nothing about the new ones.
        if version < self.version { return CopyFloors().next(map: map, version: version) }
        var next = CopyFloors()
        next.version = version
        for entry in map.entries {
            let place = Place(entry)
            next.places[entry.nodeKey] = place
            if places[entry.nodeKey] == place {
                next.floors[entry.nodeKey] = floors[entry.nodeKey] ?? 0
            } else {
                // Seen elsewhere (or not at all) in the previous map: only copies made under a
                // newer map can come from its present place.
                next.floors[entry.nodeKey] = self.version
            }
        }
        return next
    }

    /// A copy from `sender` must carry a stamp above this.
    public func floor(for sender: String) -> UInt64 {
        floors[sender] ?? version
    }
}
