#if canImport(Glibc)
import Glibc
#endif
import FlareCluster
import FlareConfig
import FlareNet
import FlareProtocol

/// The index server's text protocol (docs/original-behaviour.md, "Index server commands"), one handler per worker
/// thread. Replies follow the original byte for byte; anything it does not know is `ERROR`.
final class IndexHandler: ConnectionHandler {
    private let context: IndexContext
    private let clock: ServerClock

    init(context: IndexContext, worker: Worker) {
        self.context = context
        self.clock = worker.server.clock
    }

    func process(_ connection: Connection, input: UnsafeRawBufferPointer) -> ProcessOutcome {
        // No binary protocol on the index: a connection that opens with the binary magic is closed.
        // Decided once, by the connection's first byte (as flared does): a later read that happens
        // to start with 0x80 is text like any other.
        if connection.wireProtocol == .undecided, let first = input.first {
            connection.wireProtocol = first == 0x80 ? .binary : .text
        }
        if connection.wireProtocol == .binary {
            return ProcessOutcome(consumed: input.count, close: true)
        }
        var offset = 0
        while offset < input.count {
            switch LineSplitter.firstLine(UnsafeRawBufferPointer(rebasing: input[offset...]), maxLength: 65536) {
            case .needMore:
                return ProcessOutcome(consumed: offset)
            case .tooLong:
                connection.output.append("ERROR\r\n")
                return ProcessOutcome(consumed: input.count, close: true)
            case .line(let line, let consumed):
                offset += consumed
                switch execute(line, connection) {
                case .next: break
                case .close: return ProcessOutcome(consumed: offset, close: true)
                case .awaiting: return ProcessOutcome(consumed: offset)
                }
            }
        }
        return ProcessOutcome(consumed: offset)
    }

    func resume(_ connection: Connection) {}
    func connectionClosed(_ connection: Connection) {}

    private enum Next { case next, close, awaiting }

    private func execute(_ line: UnsafeRawBufferPointer, _ connection: Connection) -> Next {
        let output = connection.output
        var tokens = Tokenizer(line)
        guard let word = tokens.next() else { output.append("ERROR\r\n"); return .next }
        let command = String(decoding: word, as: UTF8.self)
        var args: [String] = []
        while let token = tokens.next() { args.append(String(decoding: token, as: UTF8.self)) }
        connection.activity.store(IndexHandler.activityCode(command), ordering: .relaxed)
        defer { connection.activity.store(0, ordering: .relaxed) }
        switch command {
        case "ping": output.append(args.isEmpty ? "OK\r\n" : "ERROR\r\n")
        case "version": output.append(args.isEmpty ? "VERSION flare-\(FlareVersion.string)\r\n" : "ERROR\r\n")
        case "quit":
            // As the original: the connection closes without a reply (its END never left the buffer).
            guard args.isEmpty else { output.append("ERROR\r\n"); return .next }
            return .close
        case "verbosity": verbosity(args, output)
        case "meta": meta(args, output)
        case "stats": stats(args, output)
        case "lease": lease(args, output)
        case "show":
            guard args == ["variables"] else { output.append("ERROR\r\n"); return .next }
            for line in context.showVariables() { output.append(line); output.appendCRLF() }
            output.append("END\r\n")
        case "kill": kill(args, output)
        case "node", "shutdown":
            runChange(command, args, connection)
            return .awaiting
        default: output.append("ERROR\r\n")
        }
        return .next
    }

    /// A change (`node …`, `shutdown`) saves the map — an fsync, a ZooKeeper write, or a round trip
    /// to the leading index — so it runs on the change queue, never on this event loop: the
    /// connection waits for its answer (its later requests stay behind it) while the worker serves
    /// every other connection. The answer is posted back to this worker.
    private func runChange(_ command: String, _ args: [String], _ connection: Connection) {
        let changes = IndexChanges(context: context)
        let worker = connection.worker
        connection.awaitReply()
        context.changeQueue.async {
            let reply = ReplyBuffer(capacity: 256)
            if command == "node" { changes.node(args, reply) } else { changes.shutdown(args, reply) }
            let bytes = Array(reply.pending)
            worker.post {
                bytes.withUnsafeBytes { connection.output.append($0) }
                connection.replyArrived()
            }
        }
    }

    private func verbosity(_ args: [String], _ output: ReplyBuffer) {
        guard let level = args.first, IndexChanges.cInt(level) != nil else { output.append("ERROR\r\n"); return }
        switch args.dropFirst().first {
        case nil: output.append("OK\r\n")
        case "noreply" where args.count == 2: break
        default: output.append("ERROR\r\n")
        }
    }

    private func meta(_ args: [String], _ output: ReplyBuffer) {
        guard args.isEmpty else { output.append("ERROR\r\n"); return }
        let meta = context.meta
        output.append("META partition-size \(meta.partitionSize)\r\n")
        output.append("META key-hash-algorithm \(meta.keyHashAlgorithm)\r\n")
        output.append("META partition-type modular\r\n")
        output.append("META partition-modular-hint \(meta.hint)\r\n")
        output.append("META partition-modular-virtual \(meta.virtual)\r\n")
        output.append("END\r\n")
    }

    private func kill(_ args: [String], _ output: ReplyBuffer) {
        guard args.count == 1, let id = Int(args[0]), id >= 0 else { output.append("ERROR\r\n"); return }
        if context.coordinator.killMonitor(id: id) || context.server.closeConnection(id: id) {
            output.append("OK\r\n")
        } else {
            output.append("CLIENT_ERROR thread not found\r\n")
        }
    }

    // MARK: lease

    /// `lease <name> <port> <milliseconds>`: an active master renews its lease (node-control.md,
    /// "The master lease"). `LEASE <node_map_version>` when granted; refused once the index
    /// decided to fail the node over.
    private func lease(_ args: [String], _ output: ReplyBuffer) {
        guard args.count == 3, let port = IndexChanges.port(args[1]), let milliseconds = Int64(args[2]) else {
            output.append("ERROR\r\n")
            return
        }
        guard (0...LeaseGrants.maximumMilliseconds).contains(milliseconds) else {
            output.append("CLIENT_ERROR lease length out of range\r\n")
            return
        }
        let nodeKey = NodeEntry.nodeKey(name: args[0], port: port)
        switch context.coordinator.renewLease(nodeKey: nodeKey, milliseconds: milliseconds) {
        case .granted(let version): output.append("LEASE \(version)\r\n")
        case .revoked: output.append("SERVER_ERROR lease revoked: \(nodeKey) is being failed over\r\n")
        case .notDeciding(let reason): output.append("SERVER_ERROR \(reason)\r\n")
        }
    }

    // MARK: stats

    private func stats(_ args: [String], _ output: ReplyBuffer) {
        switch args.first {
        case nil: generalStats(output)
        case "items", "slabs", "sizes": output.append("END\r\n")
        case "nodes":
            output.append(context.coordinator.snapshot.map.statsNodesLines)
            output.append("END\r\n")
        case "threads": threadStats(args.count > 1 ? args[1] : nil, output)
        default: output.append("ERROR\r\n")
        }
    }

    private func generalStats(_ output: ReplyBuffer) {
        let now = clock.now
        let server = context.server!
        var report = StatsReport()
        report.pid = UInt64(getpid())
        report.uptime = UInt64(max(0, now - clock.startedAt))
        report.time = UInt64(now)
        report.version = FlareVersion.string
        (report.rusageUser, report.rusageSystem) = ProcessUsage.cpuTimes()
        report.currConnections = UInt64(server.currentConnections)
        report.totalConnections = server.netCounter(NetCounter.totalConnections)
        report.bytesRead = server.netCounter(NetCounter.bytesRead)
        report.bytesWritten = server.netCounter(NetCounter.bytesWritten)
        let monitors = context.coordinator.monitorList.count
        report.threads = UInt64(server.workers.count + monitors + 1)
        report.nodeMapVersion = context.coordinator.snapshot.version
        report.write(to: output)
    }

    /// Request connections first, then one monitor per node: flare-tools need a thread whose peer is
    /// each node key, with its `behind` (docs/original-behaviour.md, "stats replies").
    private func threadStats(_ filter: String?, _ output: ReplyBuffer) {
        switch filter {
        case "queue":
            let total = context.coordinator.monitorList.reduce(0) { $0 + $1.snapshot(now: clock.now).queue }
            output.append("STAT total_thread_queue \(total)\r\nEND\r\n")
            return
        case "slave":
            output.append("END\r\n")
            return
        case nil, "request": break
        default:
            output.append("ERROR\r\n")
            return
        }
        let now = clock.now
        for info in context.server.connectionInfos() {
            let op = IndexHandler.activityName(info.activity)
            ThreadStat(id: info.id, type: 1, peer: info.peer, op: op, uptime: max(0, now - info.openedAt),
                       state: op.isEmpty ? "wait" : "execute").write(to: output)
        }
        if filter == nil {
            for monitor in context.coordinator.monitorList {
                let snapshot = monitor.snapshot(now: now)
                ThreadStat(id: monitor.id, type: monitor.threadType, peer: monitor.nodeKey, op: snapshot.op,
                           uptime: max(0, now - monitor.startedAt), state: snapshot.op.isEmpty ? "wait" : "execute",
                           queue: snapshot.queue, behind: snapshot.behind).write(to: output)
            }
        }
        output.append("END\r\n")
    }

    private static let activityNames = ["", "ping", "version", "quit", "verbosity", "meta", "stats", "show", "kill",
                                        "node", "shutdown", "lease", "error"]

    static func activityCode(_ command: String) -> UInt8 {
        UInt8(activityNames.firstIndex(of: command) ?? activityNames.count - 1)
    }

    static func activityName(_ code: UInt8) -> String {
        Int(code) < activityNames.count ? activityNames[Int(code)] : ""
    }
}
