#if canImport(Glibc)
import Glibc
#endif
import FlareConfig
import FlareNet
import FlareProtocol

/// flare's administrative commands on a node; replies follow the original byte for byte.
extension NodeHandler {
    func stats(_ request: Request, _ output: ReplyBuffer) {
        var args = request.arguments
        guard let sub = args.next() else {
            generalStats(output)
            return
        }
        if sub.equals("items") || sub.equals("slabs") || sub.equals("sizes") {
            guard args.isAtEnd else { output.append("ERROR\r\n"); return }
            output.append("END\r\n")
        } else if sub.equals("nodes") {
            guard args.isAtEnd else { output.append("ERROR\r\n"); return }
            output.append(view.statsNodesLines)
            output.append("END\r\n")
        } else if sub.equals("threads") {
            threadStats(args, output)
        } else if sub.equals("replication") {
            guard args.isAtEnd else { output.append("ERROR\r\n"); return }
            replicationStats(output)
        } else {
            output.append("ERROR\r\n")
        }
    }

    private func generalStats(_ output: ReplyBuffer) {
        let server = context.server!
        let now = clock.now
        var report = StatsReport()
        report.pid = UInt64(getpid())
        report.uptime = UInt64(max(0, now - clock.startedAt))
        report.time = UInt64(now)
        report.version = FlareVersion.string
        (report.rusageUser, report.rusageSystem) = ProcessUsage.cpuTimes()
        report.currItems = UInt64(store.itemCount)
        report.totalItems = context.total(NodeCounter.totalItems)
        report.bytes = UInt64(store.byteSize)
        report.currConnections = UInt64(server.currentConnections)
        report.totalConnections = server.netCounter(NetCounter.totalConnections)
        report.commandCounters = zip(StatsReport.commandCounterNames, [
            NodeCounter.cmdGet, NodeCounter.cmdSet, NodeCounter.getHits, NodeCounter.getMisses,
            NodeCounter.deleteHits, NodeCounter.deleteMisses, NodeCounter.incrHits, NodeCounter.incrMisses,
            NodeCounter.decrHits, NodeCounter.decrMisses, NodeCounter.casHits, NodeCounter.casMisses,
            NodeCounter.casBadval, NodeCounter.touchHits, NodeCounter.touchMisses,
        ].map { context.total($0) }).map { ($0, $1) }
        // docs/original-behaviour.md, "stats replies": touch and gat count as storage commands too.
        report.commandCounters[1].1 &+= context.total(NodeCounter.cmdTouch)
        report.bytesRead = server.netCounter(NetCounter.bytesRead)
        report.bytesWritten = server.netCounter(NetCounter.bytesWritten)
        report.threads = UInt64(server.workers.count + 1)
        // The map every worker routes by (a newer one may still be on its way to some of them).
        report.nodeMapVersion = context.installedVersions.map { $0.load(ordering: .acquiring) }.min() ?? view.version
        report.write(to: output)
    }

    /// `stats replication` (an addition of this implementation): the master's backlog and how this
    /// node's rejoins caught up.
    private func replicationStats(_ output: ReplyBuffer) {
        let backlog = context.backlog
        let (bytes, copies) = backlog.usage
        let era = backlog.state
        output.appendStat("backlog_limit", UInt64(backlog.limit))
        output.appendStat("backlog_bytes", UInt64(bytes))
        output.appendStat("backlog_copies", UInt64(copies))
        output.appendStat("backlog_partition", era.partition >= 0 ? "\(era.partition)" : "-1")
        output.appendStat("backlog_start_version", era.startVersion == .max ? 0 : era.startVersion)
        output.appendStat("applied_version", context.applied.highest)
        output.appendStat("catchups_from_backlog", context.catchUpsFromBacklog.load(ordering: .relaxed))
        output.appendStat("catchups_full", context.catchUpsFull.load(ordering: .relaxed))
        output.appendStat("tombstones", UInt64(store.tombstoneCount))
        output.appendStat("tombstone_retention", UInt64(store.tombstoneRetention))
        output.append("END\r\n")
    }

    /// `stats threads [request|slave|queue]`: client connections (flare's request threads), then
    /// the links to other nodes (its proxy threads, typed by the peer's thread type), with the
    /// eight keys flare-tools parse; `behind` is the age of a link's oldest unanswered request.
    private func threadStats(_ args: Tokenizer, _ output: ReplyBuffer) {
        var args = args
        let filter = args.next()
        guard args.isAtEnd else { output.append("ERROR\r\n"); return }
        let links = context.peerLinks.all
        if let filter {
            if filter.equals("queue") {
                output.append("STAT total_thread_queue \(links.reduce(0) { $0 + $1.outstanding.load(ordering: .relaxed) })\r\nEND\r\n")
                return
            }
            guard filter.equals("request") || filter.equals("slave") else { output.append("ERROR\r\n"); return }
        }
        let now = clock.now
        if filter == nil || filter!.equals("request") {
            for info in context.server.connectionInfos() {
                let op = info.activity == 0 ? "" : Command(rawValue: info.activity - 1).map { "\($0.name)" } ?? ""
                ThreadStat(id: info.id, type: 1, peer: info.peer, op: op, uptime: max(0, now - info.openedAt),
                           state: op.isEmpty ? "wait" : "execute").write(to: output)
            }
        }
        if filter == nil || filter!.equals("slave") {
            // Replication streams: `queue` is the copies the destination has not confirmed,
            // `behind` the age of the oldest in flight, state `lagging` when it fell behind.
            let nowMilliseconds = ServerClock.monotonicMilliseconds()
            for stream in context.replication.all {
                let stats = stream.stats
                let queue = stats.queued.load(ordering: .relaxed)
                let since = stats.oldestSince.load(ordering: .relaxed)
                let state = stats.lagging(now: nowMilliseconds) ? "lagging" : queue > 0 ? "execute" : "wait"
                ThreadStat(id: stats.id, type: stats.threadType, peer: stats.destination, op: queue > 0 ? "replication" : "",
                           uptime: max(0, now - stats.openedAt), state: state, queue: queue,
                           behind: since > 0 ? max(0, nowMilliseconds - since) / 1000 : 0).write(to: output)
            }
        }
        if filter == nil {
            for link in links {
                let queue = link.outstanding.load(ordering: .relaxed)
                let oldest = link.oldestSentAt.load(ordering: .relaxed)
                ThreadStat(id: link.id, type: link.threadType, peer: link.peer, op: queue > 0 ? "proxy_write" : "",
                           uptime: max(0, now - link.openedAt), state: queue > 0 ? "execute" : "wait",
                           queue: queue, behind: oldest > 0 ? max(0, now - oldest) : 0).write(to: output)
            }
        }
        output.append("END\r\n")
    }

    func show(_ request: Request, _ output: ReplyBuffer) {
        var args = request.arguments
        guard let sub = args.next(), sub.equals("variables"), args.isAtEnd else {
            output.append("ERROR\r\n")
            return
        }
        for line in context.showVariables() { output.append(line); output.appendCRLF() }
        output.append("END\r\n")
    }

    /// `kill <id>` closes another connection (flare kills the thread serving it).
    func kill(_ request: Request, _ output: ReplyBuffer) {
        var args = request.arguments
        guard let word = args.next(), let id = Decimal.uint64(word), args.isAtEnd else {
            output.append("ERROR\r\n")
            return
        }
        if id <= UInt64(Int.max), context.server.closeConnection(id: Int(id)) {
            output.append("OK\r\n")
        } else {
            output.append("CLIENT_ERROR thread not found\r\n")
        }
    }

    /// `keys <prefix>… <limit>`: prefix search needs an ordered store, which the hash engines are not.
    func keys(_ request: Request, _ output: ReplyBuffer) {
        var args = request.arguments
        var count = 0
        var last: UnsafeRawBufferPointer?
        while let word = args.next() { count += 1; last = word }
        guard count >= 2, let limitWord = last, let limit = Decimal.uint64(limitWord), limit > 0 else {
            output.append("ERROR\r\n")
            return
        }
        output.append("SERVER_ERROR not available on current storage type\r\n")
    }
}
