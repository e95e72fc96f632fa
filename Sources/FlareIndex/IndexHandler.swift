#if canImport(Glibc)
import Glibc
#endif
import FlareCluster
import FlareConfig
import FlareNet
import FlareProtocol

/// The index server's text protocol (index-server.md §1–§2), one handler per worker thread.
/// Replies follow the original byte for byte; anything it does not know is `ERROR`.
final class IndexHandler: ConnectionHandler {
    private let context: IndexContext
    private let clock: ServerClock

    init(context: IndexContext, worker: Worker) {
        self.context = context
        self.clock = worker.server.clock
    }

    func process(_ connection: Connection, input: UnsafeRawBufferPointer) -> ProcessOutcome {
        if input.first == 0x80 {
            return ProcessOutcome(consumed: input.count, close: true)  // no binary protocol on the index
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
                if execute(line, connection) == .close { return ProcessOutcome(consumed: offset, close: true) }
            }
        }
        return ProcessOutcome(consumed: offset)
    }

    func resume(_ connection: Connection) {}
    func connectionClosed(_ connection: Connection) {}

    private enum Next { case next, close }

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
        case "node": node(args, output)
        case "shutdown": shutdown(args, output)
        default: output.append("ERROR\r\n")
        }
        return .next
    }

    private func verbosity(_ args: [String], _ output: ReplyBuffer) {
        guard let level = args.first, Self.cInt(level) != nil else { output.append("ERROR\r\n"); return }
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

    // MARK: node …

    /// A C `int` as the original reads it: it must start with a digit (or `-`) and be a whole
    /// number, within −2³¹ … 2³¹−1 (a larger one is refused, not truncated).
    private static func cInt(_ text: String) -> Int? {
        guard let first = text.first, first.isNumber || first == "-", let value = Int32(text) else { return nil }
        return Int(value)
    }

    /// A port: a C `int` that is also a TCP port. The original stored any `int`; a port no node can
    /// listen on would enter the map and be pushed to every node, whose parser refuses such a line,
    /// so the whole cluster would stop taking pushes.
    private static func port(_ text: String) -> Int? {
        guard let value = cInt(text), (0...65535).contains(value) else { return nil }
        return value
    }

    /// A node name that can stand in a map, a node key (`name:port`) and a proxy path
    /// (`<a:1,b:2>`): a host name or address, no control characters, separators or brackets.
    private static func isNodeName(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 255
            && text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") && $0 != UInt8(ascii: ",")
                                      && $0 != UInt8(ascii: "<") && $0 != UInt8(ascii: ">") }
    }

    private func node(_ args: [String], _ output: ReplyBuffer) {
        guard let sub = args.first else { output.append("ERROR\r\n"); return }
        if forwarded((["node"] + args).joined(separator: " "), list: sub == "add", output) { return }
        let rest = Array(args.dropFirst())
        switch sub {
        case "add":
            guard rest.count == 2, let port = Self.port(rest[1]), Self.isNodeName(rest[0]) else { output.append("ERROR\r\n"); return }
            let name = rest[0]
            switch context.coordinator.addNode(name: name, port: port) {
            case .success(let state):
                output.append(state.map.nodeLines)
                output.append("END\r\n")
            case .failure: output.append("SERVER_ERROR failed to add node\r\n")
            }
        case "remove":
            guard rest.count == 2, let port = Self.port(rest[1]) else { output.append("ERROR\r\n"); return }
            let name = rest[0]
            reply(context.coordinator.perform("node remove \(name) \(port)") { (state: inout IndexState) throws(IndexCommandError) in
                try state.removeNode(name: name, port: port)
            }, failure: "SERVER_ERROR failed to remove node", output)
        case "role":
            // `node role <name> <port> <role> [<balance> [<partition>]]`; words after the partition are ignored.
            guard rest.count >= 3, let port = Self.port(rest[1]), let role = NodeRole(name: rest[2]) else {
                output.append("ERROR\r\n")
                return
            }
            var balance = -1, partition = -1
            if rest.count > 3 { guard let b = Self.cInt(rest[3]) else { output.append("ERROR\r\n"); return }; balance = b }
            if rest.count > 4 { guard let p = Self.cInt(rest[4]) else { output.append("ERROR\r\n"); return }; partition = p }
            let name = rest[0]
            reply(context.coordinator.perform("node role \(name) \(port) \(role.name) \(balance) \(partition)") { (state: inout IndexState) throws(IndexCommandError) in
                try state.setRole(name: name, port: port, role: role, balance: balance, partition: partition)
            }, failure: "SERVER_ERROR failed to set role (and balance)", output)
        case "state":
            // Like `node role`, an operator's `node state … down` takes effect at once, without
            // waiting for the node's lease (Coordinator.nodeFailed): it is the operator's decision.
            guard rest.count == 3, let port = Self.port(rest[1]), let newState = NodeState(name: rest[2]) else {
                output.append("ERROR\r\n")
                return
            }
            let name = rest[0]
            reply(context.coordinator.perform("node state \(name) \(port) \(newState.name)") { (state: inout IndexState) throws(IndexCommandError) in
                try state.setState(name: name, port: port, state: newState)
            }, failure: "SERVER_ERROR failed to set state", output)
        default:
            output.append("ERROR\r\n")
        }
    }

    private func shutdown(_ args: [String], _ output: ReplyBuffer) {
        guard args.count == 2, let port = Self.port(args[1]) else { output.append("ERROR\r\n"); return }
        if forwarded((["shutdown"] + args).joined(separator: " "), list: false, output) { return }
        let name = args[0]
        reply(context.coordinator.perform("shutdown \(name) \(port)") { (state: inout IndexState) throws(IndexCommandError) in
            try state.shutdownNode(name: name, port: port)
        }, failure: "SERVER_ERROR failed to shutdown", output)
    }

    /// With several index servers on ZooKeeper only the leader changes the map: a follower hands
    /// the request to it and relays the answer (`list`: `NODE` lines up to `END`, else one line),
    /// so nodes and tools may talk to any index. False when this index decides itself.
    private func forwarded(_ line: String, list: Bool, _ output: ReplyBuffer) -> Bool {
        let coordinator = context.coordinator
        guard !coordinator.decides else { return false }
        let role = coordinator.currentRole
        guard case .follower(let leader?) = role, let colon = leader.lastIndex(of: ":"),
              let port = Int(leader[leader.index(after: colon)...]) else {
            output.append("SERVER_ERROR \(Coordinator.notDeciding(role))\r\n")
            return true
        }
        let host = String(leader[..<colon])
        guard let fd = LineClient.connect(host: host, port: port, timeoutMilliseconds: Self.forwardTimeoutMilliseconds) else {
            output.append("SERVER_ERROR the leading index server \(leader) does not answer\r\n")
            return true
        }
        defer { close(fd) }
        LineClient.setTimeout(fd, milliseconds: Self.forwardTimeoutMilliseconds)
        guard LineClient.send(fd, line + "\r\n") else {
            output.append("SERVER_ERROR the leading index server \(leader) does not answer\r\n")
            return true
        }
        var relayed = ""
        while let answer = LineClient.readLine(fd) {
            relayed += answer + "\r\n"
            let last = !list || answer == "END" || answer.hasPrefix("ERROR") || answer.hasPrefix("SERVER_ERROR") || answer.hasPrefix("CLIENT_ERROR")
            if last {
                output.append(relayed)
                return true
            }
        }
        // Nothing partial is relayed: the client sees one clear failure, not half a node list.
        output.append("SERVER_ERROR the leading index server \(leader) did not finish its answer\r\n")
        return true
    }

    /// A forwarded change may wait for a priority push on the leader (up to a few seconds).
    static let forwardTimeoutMilliseconds = 5000

    private func reply(_ result: Result<IndexState, IndexCommandError>, failure: StaticString, _ output: ReplyBuffer) {
        switch result {
        case .success: output.append("OK\r\n")
        case .failure: output.append(failure); output.appendCRLF()
        }
    }

    // MARK: lease

    /// `lease <name> <port> <milliseconds>`: an active master renews its lease (node-control.md,
    /// "The master lease"). `LEASE <node_map_version>` when granted; refused once the index
    /// decided to fail the node over.
    private func lease(_ args: [String], _ output: ReplyBuffer) {
        guard args.count == 3, let port = Self.port(args[1]), let milliseconds = Int64(args[2]) else {
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
    /// each node key, with its `behind` (stats.md §3).
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
