#if canImport(Glibc)
import Glibc
#endif
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
            for line in context.nodeMapLines() { output.append(line); output.appendCRLF() }
            output.append("END\r\n")
        } else if sub.equals("threads") {
            threadStats(args, output)
        } else {
            output.append("ERROR\r\n")
        }
    }

    private func generalStats(_ output: ReplyBuffer) {
        let server = context.server!
        var usage = rusage()
        getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
        let now = clock.now
        output.appendStat("pid", UInt64(getpid()))
        output.appendStat("uptime", UInt64(max(0, now - clock.startedAt)))
        output.appendStat("time", UInt64(now))
        output.appendStat("version", FlareRelease.version)
        output.appendStat("pointer_size", UInt64(MemoryLayout<Int>.size * 8))
        output.appendStat("rusage_user", NodeHandler.seconds(usage.ru_utime))
        output.appendStat("rusage_system", NodeHandler.seconds(usage.ru_stime))
        output.appendStat("curr_items", UInt64(store.itemCount))
        output.appendStat("total_items", context.total(NodeCounter.totalItems))
        output.appendStat("bytes", UInt64(store.byteSize))
        output.appendStat("curr_connections", UInt64(server.currentConnections))
        output.appendStat("total_connections", server.netCounter(NetCounter.totalConnections))
        output.appendStat("connection_structures", 0)
        output.appendStat("cmd_get", context.total(NodeCounter.cmdGet))
        // flare counts touch and gat as storage commands (stats.md §1).
        output.appendStat("cmd_set", context.total(NodeCounter.cmdSet) &+ context.total(NodeCounter.cmdTouch))
        for (name, counter) in [("get_hits", NodeCounter.getHits), ("get_misses", NodeCounter.getMisses),
                                ("delete_hits", NodeCounter.deleteHits), ("delete_misses", NodeCounter.deleteMisses),
                                ("incr_hits", NodeCounter.incrHits), ("incr_misses", NodeCounter.incrMisses),
                                ("decr_hits", NodeCounter.decrHits), ("decr_misses", NodeCounter.decrMisses),
                                ("cas_hits", NodeCounter.casHits), ("cas_misses", NodeCounter.casMisses),
                                ("cas_badval", NodeCounter.casBadval), ("touch_hits", NodeCounter.touchHits),
                                ("touch_misses", NodeCounter.touchMisses)] {
            output.appendStat(name, context.total(counter))
        }
        output.appendStat("evictions", 0)
        output.appendStat("bytes_read", server.netCounter(NetCounter.bytesRead))
        output.appendStat("bytes_written", server.netCounter(NetCounter.bytesWritten))
        output.appendStat("limit_maxbytes", 0)
        output.appendStat("threads", UInt64(server.workers.count + 1))
        output.appendStat("pool_threads", 0)
        output.appendStat("node_map_version", context.nodeMapVersion())
        output.append("END\r\n")
    }

    static func seconds(_ tv: timeval) -> String {
        let micros = String(tv.tv_usec)
        return "\(tv.tv_sec)." + String(repeating: "0", count: max(0, 6 - micros.count)) + micros
    }

    /// `stats threads [request|slave|queue]`: one entry per client connection (our request "threads"),
    /// with the eight keys flare-tools parse.
    private func threadStats(_ args: Tokenizer, _ output: ReplyBuffer) {
        var args = args
        let filter = args.next()
        guard args.isAtEnd else { output.append("ERROR\r\n"); return }
        if let filter {
            if filter.equals("queue") {
                output.append("STAT total_thread_queue 0\r\nEND\r\n")
                return
            }
            if filter.equals("slave") {
                output.append("END\r\n")
                return
            }
            guard filter.equals("request") else { output.append("ERROR\r\n"); return }
        }
        let now = clock.now
        for info in context.server.connectionInfos() {
            let id = String(info.id)
            let op = info.activity == 0 ? "" : Command(rawValue: info.activity - 1).map { "\($0.name)" } ?? ""
            output.append("STAT \(id):type 1\r\n")
            output.append("STAT \(id):peer \(info.peer)\r\n")
            output.append("STAT \(id):op \(op)\r\n")
            output.append("STAT \(id):uptime \(max(0, now - info.openedAt))\r\n")
            output.append("STAT \(id):state \(op.isEmpty ? "wait" : "execute")\r\n")
            output.append("STAT \(id):info \r\n")
            output.append("STAT \(id):queue 0\r\n")
            output.append("STAT \(id):behind 0\r\n")
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
