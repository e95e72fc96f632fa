#if canImport(Glibc)
import Glibc
#endif
import FlareCluster
import FlareConfig
import FlareNet
import FlareProtocol

/// The index server's change commands (`node add|remove|role|state`, `shutdown`), which save the
/// map before they answer. They run on `IndexContext.changeQueue`, one at a time and off the event
/// loops (`IndexHandler.runChange`); replies follow the original byte for byte.
struct IndexChanges: Sendable {
    let context: IndexContext


    /// A C `int` as the original reads it: it must start with a digit (or `-`) and be a whole
    /// number, within −2³¹ … 2³¹−1 (a larger one is refused, not truncated).
    static func cInt(_ text: String) -> Int? {
        guard let first = text.first, first.isNumber || first == "-", let value = Int32(text) else { return nil }
        return Int(value)
    }

    /// A port: a C `int` that is also a TCP port. The original stored any `int`; a port no node can
    /// listen on would enter the map and be pushed to every node, whose parser refuses such a line,
    /// so the whole cluster would stop taking pushes.
    static func port(_ text: String) -> Int? {
        guard let value = cInt(text), (0...65535).contains(value) else { return nil }
        return value
    }

    /// A node name that can stand in a map, a node key (`name:port`) and a proxy path
    /// (`<a:1,b:2>`): a host name or address, no control characters, separators or brackets.
    static func isNodeName(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 255
            && text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") && $0 != UInt8(ascii: ",")
                                      && $0 != UInt8(ascii: "<") && $0 != UInt8(ascii: ">") }
    }

    func node(_ args: [String], _ output: ReplyBuffer) {
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

    func shutdown(_ args: [String], _ output: ReplyBuffer) {
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

}
