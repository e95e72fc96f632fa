/// What a successful index operation asks of the index server afterwards (docs/original-behaviour.md, "Index server
/// commands" and "Partition tables and node sync"): whether to persist and push the new map, in which order, and
/// which monitor threads to start or stop.
public struct IndexChange: Sendable, Equatable {
    /// Persist (with `version + 1`) and push to all nodes. False when nothing changed, e.g. node
    /// up of a node that is already active; the command still succeeds.
    public var save: Bool
    /// Node keys to push to first, synchronously and in this order, before everyone (who then
    /// includes them again): the promoted slave on fail-over; a new master becoming active,
    /// then its slaves.
    public var priority: [String]
    /// Shutdown mode: the node that is stopping gets no push, unless it was an active master
    /// (then nil, as the original wants it to learn it lost its role).
    public var skipPush: String?
    /// `node add` of an unknown node: start monitoring this node key.
    public var startMonitor: String?
    /// `node remove`: stop monitoring this node key.
    public var stopMonitor: String?

    public init(
        save: Bool = true, priority: [String] = [], skipPush: String? = nil,
        startMonitor: String? = nil, stopMonitor: String? = nil
    ) {
        self.save = save
        self.priority = priority
        self.skipPush = skipPush
        self.startMonitor = startMonitor
        self.stopMonitor = stopMonitor
    }

    /// Saved and pushed to every node, nothing else.
    public static let saveAndPush = IndexChange()

    /// The command succeeds without any change: nothing saved, nothing pushed.
    public static let unchanged = IndexChange(save: false)
}
