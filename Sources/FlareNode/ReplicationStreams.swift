import Dispatch
import FlareCluster
import FlareNet
import Logging
import Synchronization

/// This node's replication streams, one per destination, for the whole process.
///
/// Workers call `streams(for:on:)` when they take a new map (not per request): the newest map
/// decides which streams exist; a stream whose destination the newest map no longer copies to is
/// ended. A worker still holding an older map may briefly hand an operation to an ended stream,
/// which answers its waiter with a failure at once. Threads: any (one mutex, taken per map change).
final class ReplicationStreams: Sendable {
    private struct State: Sendable {
        var streams: [String: ReplicationStream] = [:]
        /// Ended streams still delivering a hand-off; kept here so their home worker ticks them.
        var retiring: [ReplicationStream] = []
        var newestVersion: UInt64 = 0
        var newestWasMaster = false
    }

    private let state = Mutex(State())
    private let settings: ReplicationSettings
    private let logger: Logger
    /// Tells the index that a destination missed copies (its queue overflowed) and must be rebuilt.
    private let reportLagging: @Sendable (NodeEntry) -> Void

    init(settings: ReplicationSettings, logger: Logger, reportLagging: @escaping @Sendable (NodeEntry) -> Void) {
        self.settings = settings
        self.logger = logger
        self.reportLagging = reportLagging
    }

    /// The streams to this view's replica targets, by node key, created on `worker` if new.
    func streams(for view: ClusterView, on worker: Worker) -> [String: ReplicationStream] {
        let targets = view.allReplicaTargets
        let (current, ended) = state.withLock { state -> ([String: ReplicationStream], [(ReplicationStream, ReplicationStream.Ending)]) in
            var ended: [(ReplicationStream, ReplicationStream.Ending)] = []
            let newest = view.version >= state.newestVersion || view.standalone
            // Only the newest map opens streams: an older one may still name a destination that
            // a newer map has dropped.
            if newest {
                for target in targets where state.streams[target.nodeKey] == nil {
                    state.streams[target.nodeKey] = makeStream(to: target, on: worker)
                }
                state.newestVersion = view.version
                let wanted = Set(targets.map(\.nodeKey))
                let isMaster = !targets.isEmpty || view.masterOf >= 0
                for (key, stream) in state.streams where !wanted.contains(key) {
                    let destination = view.map[nodeKey: key]
                    let handedOff = isMaster && destination?.role == .master && destination?.state == .active
                    ended.append((stream, handedOff ? .handedOff : isMaster ? .destinationLeft : .noLongerMaster))
                    state.streams[key] = nil
                    if handedOff { state.retiring.append(stream) }
                }
                state.retiring.removeAll { $0.stats.isEnded.load(ordering: .relaxed) }
                state.newestWasMaster = isMaster
            }
            var current: [String: ReplicationStream] = [:]
            for target in targets { current[target.nodeKey] = state.streams[target.nodeKey] }
            return (current, ended)
        }
        for (stream, ending) in ended {
            let why = switch ending {
            case .destinationLeft: "no longer a copy of this partition"
            case .noLongerMaster: "this node no longer masters a partition"
            case .handedOff: "it now masters the keys that moved to it; delivering what is queued"
            }
            logger.notice("replication to \(stream.nodeKey) ended (\(why)), node map version \(view.version)")
            stream.end(ending)
        }
        return current
    }

    /// Every live stream, for `stats` and for the home workers' ticks.
    var all: [ReplicationStream] {
        // A retiring stream that finished its hand-off stays in the list until the next map:
        // it is done, so neither ticks nor `stats threads` need it.
        state.withLock { Array($0.streams.values) + $0.retiring.filter { !$0.stats.isEnded.load(ordering: .relaxed) } }
            .sorted { $0.nodeKey < $1.nodeKey }
    }

    private func makeStream(to target: NodeEntry, on worker: Worker) -> ReplicationStream {
        logger.info("replication stream to \(target.nodeKey) opened")
        let logger = self.logger
        let report = reportLagging
        return ReplicationStream(destination: target, home: worker, settings: settings) { stream in
            logger.error("replication to \(stream.nodeKey) fell more than \(stream.stats.backlogLimit) bytes behind: copies were dropped, asking the index to mark it down so it is rebuilt")
            report(stream.destination)
        }
    }
}
