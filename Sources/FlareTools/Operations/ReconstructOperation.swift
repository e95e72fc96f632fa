import FlareCluster

/// `reconstruct hostname:port … | --all`: rebuilds active masters/slaves from their partition.
/// Per node: `node state … down` (a master fails over to a slave), 3 s pause, `flush_all`,
/// `node role … slave 0 P` retried until the monitor has revived the node as a proxy, wait for
/// `slave/active`, then `node role … slave <old balance> P`.
public struct ReconstructOperation {
    public var nodes: [NodeAddress]
    public var all = false
    public var force = false
    /// Without it a node is only rebuilt when its partition keeps a redundant copy meanwhile.
    public var unsafe = false
    public var retry = 5

    public init(nodes: [NodeAddress], all: Bool = false, force: Bool = false, unsafe: Bool = false, retry: Int = 5) {
        self.nodes = nodes
        self.all = all
        self.force = force
        self.unsafe = unsafe
        self.retry = retry
    }

    public func run(_ session: ToolSession) throws -> ToolStatus {
        if all && !nodes.isEmpty { throw ToolError.invalidArgument("don't specify any nodes with --all option.") }
        if !all && nodes.isEmpty { throw ToolError.invalidArgument("no node specified (usage: reconstruct [hostname:port] ... | --all)") }
        let console = session.console
        return try ConstructionWatch.run(session) { index, initial, watch in
            // --all means every master and slave (proxies cannot be reconstructed).
            let targets = all ? initial.masterAndSlaveKeys.compactMap { initial[$0].map { NodeAddress(host: $0.host, port: $0.port) } } : nodes
            let keys = targets.map(\.key)
            console.out.write(NodeListFormat.render(initial, only: keys))
            var status = ToolStatus.success
            var confirmAll = force
            for address in targets {
                let key = address.key
                let map = try index.statsNodes()
                guard let node = map[key] else {
                    console.say("\(key) is not found in this cluster.")
                    return .failure
                }
                guard map.isReconstructable(key) else {
                    console.say("\(key) is not reconstructable.")
                    status = .failure
                    continue
                }
                let safe = map.isSafelyReconstructable(key)
                if !unsafe && !safe {
                    console.say("The partition needs one more slave to reconstruct \(key) safely.")
                    status = .failure
                    continue
                }
                var execute = confirmAll
                if !execute {
                    // The original's words, misspelling included (scripts may match them).
                    if !safe { console.say("you are trying to reconstruct \(key) without redanduncy.") }
                    switch askReconstruction(key: key, role: node.role, console: console) {
                    case .yes: execute = true
                    case .all: execute = true; confirmAll = true
                    case .no: break
                    case .quit: return status
                    }
                }
                guard execute, !session.dryRun else { continue }
                console.say("turning down...")
                let down = try index.setState(host: address.host, port: address.port, state: NodeState.down.name)
                guard down.succeeded else {
                    if case .failure(let line) = down { console.note("failed to turn down \(key): \(line)") }
                    return .failure
                }
                console.say("waiting for node to be active again...")
                console.pause(3)
                guard try watch.flush(address) else {
                    console.note("executing flush_all failed.")
                    return .failure
                }
                guard try watch.requestRole(address, role: NodeRole.slave.name, balance: 0, partition: node.partition, attempts: retry,
                                            startedMessage: "started constructing node...") else {
                    console.note("failed to change the state.")
                    return .failure
                }
                try watch.waitForSlave(key)
                // As the original: unless forced (or answered `a`), ask before giving the balance back.
                let restore = confirmAll
                    || console.confirm("changing node's balance (node=\(key), balance=0 -> \(node.balance)) (y/n): ")
                if restore, try !index.setRole(host: address.host, port: address.port, role: NodeRole.slave.name, balance: node.balance,
                                      partition: node.partition).succeeded {
                    console.note("failed to restore the balance of \(key)")
                    status = .failure
                }
                console.say("done.")
            }
            console.out.write(NodeListFormat.render(try index.statsNodes(), only: keys))
            return status
        }
    }

    private enum Answer { case yes, no, all, quit }

    /// y: this node, n: skip it, a: this and all following nodes, q: stop. Anything else shows
    /// the help and asks again; end of input counts as n.
    private func askReconstruction(key: String, role: String, console: ToolConsole) -> Answer {
        while true {
            guard let answer = console.ask("reconstructing node (node=\(key), role=\(role)) (y/n/a/q/h:help): ") else { return .no }
            switch answer {
            case "Y": return .yes
            case "N": return .no
            case "A": return .all
            case "Q": return .quit
            default: console.say("y: execute, n: skip, a: execute all the left nodes, q: quit, h: help")
            }
        }
    }
}
