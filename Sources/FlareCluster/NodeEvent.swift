/// Something that happened to a node, for `NodeCore.step`. The shell reads every clock and does
/// every I/O; times are monotonic milliseconds.
public enum NodeEvent: Sendable, Equatable {
    /// The process started. `formerMember`: it registered with an index server before this start
    /// (its data may be stale); `formerPartition`: the partition it served as master or slave, if
    /// recorded; `rejoinAsSlave`: the setting of that name; `formerRole`: the role it had there;
    /// `progress`: what it had applied as a slave, if recorded (persistent storage only).
    case started(formerMember: Bool, formerPartition: Int?, rejoinAsSlave: Bool,
                 formerRole: NodeRole? = nil, progress: SlaveProgress? = nil, now: Int64)
    /// An index server answered `node add` with its map (that reply carries no version).
    case registered(map: NodeMap)
    /// The index no longer lists this node; `indexVersion` is its node map version. Lower than
    /// ours: it restarted without its data (register again). Otherwise the operator removed this
    /// node (`node remove`): it stays out until the process restarts, as with the original.
    case unlisted(indexVersion: UInt64)
    /// The index pushed `node sync <version>`.
    case mapPushed(version: UInt64, map: NodeMap)
    /// The map fetched from an index (asked for by `NodeEffect.fetchMap`); `sentAt` is when the
    /// lease renewal that read its version was sent, `granted` whether the index granted it.
    case mapFetched(version: UInt64, map: NodeMap, sentAt: Int64, granted: Bool = true)
    /// An index answered a lease renewal sent at `sentAt`, reporting its node-map version;
    /// `granted` is false when it refused the lease (it is failing this node over).
    case indexContact(sentAt: Int64, indexVersion: UInt64, granted: Bool = true)
    /// No index answered a renewal (or a fetch) at `now`.
    case indexUnreachable(now: Int64)
    /// The process did not run for a while (SIGSTOP, a paused VM).
    case stallDetected(now: Int64)
    /// The catch-up started by `NodeEffect.catchUp` ended.
    case catchUpFinished(CatchUpOutcome)
    /// The reconstruction started by `NodeEffect.construct` ended.
    case constructionFinished(ok: Bool)
    /// The index answered a `NodeEffect.tellIndex` line (false: refused or unreachable).
    case toldIndex(line: String, accepted: Bool)
    /// Time passes (the shell's ticker).
    case tick(now: Int64)
    /// The reloadable settings the core uses changed (SIGHUP).
    case settingsChanged(reconstructionInterval: Int, reconstructionBwlimit: Int)
}

/// How far a slave got with its master's copies before it stopped: recorded while it was an
/// active slave, read at start-up, so `rejoin-as-slave` can ask the master's backlog for the rest.
public struct SlaveProgress: Sendable, Equatable {
    /// The node key of the master it applied copies from.
    public let master: String
    public let partition: Int
    /// The highest copy version it applied.
    public let appliedVersion: UInt64
    /// The node map version it was an active slave under (for the log).
    public let mapVersion: UInt64

    public init(master: String, partition: Int, appliedVersion: UInt64, mapVersion: UInt64) {
        self.master = master
        self.partition = partition
        self.appliedVersion = appliedVersion
        self.mapVersion = mapVersion
    }
}

/// The end of a catch-up from a master's backlog.
public enum CatchUpOutcome: Sendable, Equatable {
    /// Every copy the slave may lack was applied.
    case caughtUp(copies: Int, milliseconds: Int64)
    /// The master's answer (`SERVER_ERROR backlog does not reach …`) or the failure: a full copy is needed.
    case failed(String)
}
