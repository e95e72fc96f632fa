/// The index server's whole persistent state: what `flare.xml` holds (docs/original-behaviour.md, "flare.xml").
///
/// Every node-changing command is a mutating method on this value (the `IndexState+…` files).
/// A method either throws and leaves the state untouched, or applies the change and returns an
/// `IndexChange` telling the daemon what to do next. The daemon re-reads the persisted state
/// before each command, bumps `version` when the change asks to be saved, persists, and pushes.
public struct IndexState: Sendable, Equatable {
    public var map: NodeMap
    /// Node map version, carried by every `node sync` push. Incremented by the caller on every
    /// save, never by the operations themselves.
    public var version: UInt64
    /// The thread type the next new node receives. Starts at 16 (types below are the index's
    /// own threads) and only grows, so a removed node's type is never handed out again.
    public var nextThreadType: Int

    /// The first thread type handed to a node (docs/original-behaviour.md, "Index server commands").
    public static let firstNodeThreadType = 16

    public init(map: NodeMap = NodeMap(), version: UInt64 = 0, nextThreadType: Int = IndexState.firstNodeThreadType) {
        self.map = map
        self.version = version
        self.nextThreadType = nextThreadType
    }

    /// Why the partition tables of this map are inconsistent (docs/original-behaviour.md, "Partition tables and node
    /// sync"), or nil.
    ///
    /// During normal operation the original only logs this and still saves and pushes the map,
    /// so the operations do not throw on it; the daemon logs it after each change, and refuses
    /// to start when it is not nil at start-up.
    public func layoutProblem() -> String? {
        do throws(PartitionLayoutError) {
            let layout = try map.partitionLayout()
            guard !layout.skippedNodes.isEmpty else { return nil }
            return layout.skippedNodes.map(\.description).joined(separator: "; ")
        } catch {
            return error.description
        }
    }
}
