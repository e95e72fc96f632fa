/// Something that happened to a node, for `NodeCore.step`. The shell reads every clock and does
/// every I/O; times are monotonic milliseconds.
public enum NodeEvent: Sendable, Equatable {
    /// The process started. `formerMember`: it registered with an index server before this start
    /// (its data may be stale); `formerPartition`: the partition it served as master or slave, if
    /// recorded; `rejoinAsSlave`: the setting of that name.
    case started(formerMember: Bool, formerPartition: Int?, rejoinAsSlave: Bool, now: Int64)
    /// An index server answered `node add` with its map (that reply carries no version).
    case registered(map: NodeMap)
    /// The index no longer lists this node: it restarted without its data.
    case forgotten
    /// The index pushed `node sync <version>`.
    case mapPushed(version: UInt64, map: NodeMap)
    /// The map fetched from an index (asked for by `NodeEffect.fetchMap`); `sentAt` is when the
    /// request that read its version was sent.
    case mapFetched(version: UInt64, map: NodeMap, sentAt: Int64)
    /// An index answered a lease renewal sent at `sentAt`, reporting its node-map version.
    case indexContact(sentAt: Int64, indexVersion: UInt64)
    /// No index answered a renewal (or a fetch) at `now`.
    case indexUnreachable(now: Int64)
    /// The process did not run for a while (SIGSTOP, a paused VM).
    case stallDetected(now: Int64)
    /// The reconstruction started by `NodeEffect.construct` ended.
    case constructionFinished(ok: Bool)
    /// The index answered a `NodeEffect.tellIndex` line (false: refused or unreachable).
    case toldIndex(line: String, accepted: Bool)
    /// Time passes (the shell's ticker).
    case tick(now: Int64)
    /// The reloadable settings the core uses changed (SIGHUP).
    case settingsChanged(reconstructionInterval: Int, reconstructionBwlimit: Int)
}
