/// What `NodeCore.step` asks the node's shell to do. `install` must be executed in the same
/// critical section as the step (the order of maps matters); the others may run later, in order,
/// on a background thread.
public enum NodeEffect: Sendable, Equatable {
    /// Route by this map from now on: the shell builds its view and hands it to every worker.
    case install(map: NodeMap, version: UInt64, layout: PartitionLayout)
    /// Copy a partition from other nodes (slave or new master construction); report the end with
    /// `NodeEvent.constructionFinished`.
    case construct(NodeConstruction)
    /// Ask the master (`source.node`) for the copies this slave may lack (`source.request` is the
    /// `backlog …` line) and apply them; report with `NodeEvent.catchUpFinished`.
    case catchUp(NodeConstruction.Source)
    /// Send this line to the index (`node state … active`, `node role … proxy 0 -1`); report the
    /// answer with `NodeEvent.toldIndex`.
    case tellIndex(String)
    /// Read the index's map and version afresh; report with `NodeEvent.mapFetched`, retrying
    /// until an index answers.
    case fetchMap
    /// Delete every item (a rejoining node copies its partition afresh), and first the record of
    /// what it had applied as a slave, which no longer describes the data.
    case clearData
    /// Persist this node's entry, so `rejoin-as-slave` knows the partition after a restart.
    case rememberRole(NodeEntry)
    /// Persist that this node has been a cluster member.
    case recordMembership
    case log(NodeLogLevel, String)
}

public enum NodeLogLevel: Sendable, Equatable {
    case debug, info, notice, warning, error
}

/// A reconstruction to run: this node's new role and the nodes to `dump` from.
public struct NodeConstruction: Sendable, Equatable {
    public struct Source: Sendable, Equatable {
        public let node: NodeEntry
        /// The `dump …` request line for that node.
        public let request: String

        public init(node: NodeEntry, request: String) {
            self.node = node
            self.request = request
        }
    }

    public let role: NodeRole
    public let partition: Int
    public let sources: [Source]

    public init(role: NodeRole, partition: Int, sources: [Source]) {
        self.role = role
        self.partition = partition
        self.sources = sources
    }
}
