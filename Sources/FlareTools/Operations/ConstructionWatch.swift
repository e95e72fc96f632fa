import FlareCluster

/// Shared steps of master/slave/reconstruct: asking the index for a role until it accepts, and
/// watching a node until its construction finishes (common.rb's wait_for_* helpers).
struct ConstructionWatch {
    let session: ToolSession
    let index: FlareClient

    private var console: ToolConsole { session.console }

    /// Runs a construction (master, slave, reconstruct) on the session's index: `body` gets the
    /// index, its current `stats nodes` and a watch on it.
    static func run(_ session: ToolSession,
                    _ body: (FlareClient, NodeStatMap, ConstructionWatch) throws -> ToolStatus) throws -> ToolStatus {
        try session.withIndex { index in
            let map = try index.statsNodes()
            return try body(index, map, ConstructionWatch(session: session, index: index))
        }
    }

    /// `node role …` until the index answers OK, at most `attempts` times, sleeping 1, 2, 3… s
    /// in between (a node that was just set down only becomes an active proxy again once the
    /// index's monitor has seen it alive). At least one attempt is made even with `--retry=0`.
    func requestRole(_ address: NodeAddress, role: String, balance: Int, partition: Int, attempts: Int,
                     startedMessage: String) throws -> Bool {
        let attempts = max(attempts, 1)
        for attempt in 1...attempts {
            if try index.setRole(host: address.host, port: address.port, role: role, balance: balance,
                                 partition: partition).succeeded {
                console.say(startedMessage)
                return true
            }
            guard attempt < attempts else { break }
            console.say("waiting \(attempt) sec...")
            console.pause(Double(attempt))
            console.say("retrying...")
        }
        return false
    }

    /// Polls every second until the node is `slave/active`, printing the copy progress from the
    /// `curr_items` of the partition's master and of the slave. Gives up if the node falls back
    /// to proxy (the node abandons a failed dump that way; the original would wait forever).
    func waitForSlave(_ key: String) throws {
        let initial = try index.statsNodes()
        guard let slave = initial[key] else { throw ToolError.operationFailed("\(key) is not in the cluster any more.") }
        guard let master = initial.master(inPartition: slave.partition) else {
            throw ToolError.operationFailed("partition \(slave.partition) has no master to copy from.")
        }
        let masterClient = try session.openNode(master.endpoint)
        defer { masterClient.close() }
        let slaveClient = try session.openNode(slave.endpoint)
        defer { slaveClient.close() }
        let start = MonotonicClock.now()
        while true {
            guard let node = try index.statsNodes()[key] else {
                throw ToolError.operationFailed("\(key) is not in the cluster any more.")
            }
            let masterItems = try masterClient.stats().integer("curr_items")
            let slaveItems = try slaveClient.stats().integer("curr_items")
            console.note(ConstructionProgress.slaveLine(slaveItems: slaveItems, masterItems: masterItems, role: node.role,
                                                        state: node.state, elapsed: MonotonicClock.now() - start))
            if node.isSlave && node.isActive { break }
            if node.isProxy { throw ToolError.operationFailed("construction of \(key) failed: it is \(node.role)/\(node.state) again.") }
            console.pause(1)
        }
        console.say("state is active -> stop waiting")
    }

    /// Polls every second until a new master is `master/ready` (or `master/active`, expected
    /// only for partition 0), printing the master's `curr_items`. Returns the final state.
    func waitForMaster(_ key: String) throws -> String {
        let initial = try index.statsNodes()
        guard let target = initial[key] else { throw ToolError.operationFailed("\(key) is not in the cluster any more.") }
        let partition = target.partition
        guard let master = initial.master(inPartition: partition) else {
            throw ToolError.operationFailed("partition \(partition) has no master.")
        }
        let masterClient = try session.openNode(master.endpoint)
        defer { masterClient.close() }
        let start = MonotonicClock.now()
        var state = ""
        while true {
            guard let node = try index.statsNodes()[key] else {
                throw ToolError.operationFailed("\(key) is not in the cluster any more.")
            }
            state = node.state
            let items = try masterClient.stats().integer("curr_items")
            console.note(ConstructionProgress.masterLine(masterItems: items, role: node.role, state: node.state,
                                                         elapsed: MonotonicClock.now() - start))
            if node.isMaster && node.isActive {
                if partition != 0 { console.note("The master should be ready after the reconstruction but it became active.") }
                break
            }
            if node.isMaster && node.isReady { break }
            if node.isProxy { throw ToolError.operationFailed("construction of \(key) failed: it is \(node.role)/\(node.state) again.") }
            console.pause(1)
        }
        console.say("state is ready -> stop waiting")
        return state
    }

    /// The confirmation prompt's warning that the proxy about to become `master`/`slave` is
    /// flushed first (nothing with `--without-clean`).
    static func cleaningNotice(withoutClean: Bool) -> String {
        withoutClean ? "" : "\nitems stored in the node will be cleaned up (exec flush_all) before constructing it"
    }

    /// How `start` ended.
    enum Start {
        case started
        /// `flush_all` failed (noted).
        case notCleaned
        /// The index kept refusing the role (noted).
        case refused
    }

    /// Starts building a proxy into `role` (master, slave): `flush_all` on it unless
    /// `withoutClean`, then `requestRole`.
    func start(_ address: NodeAddress, as role: NodeRole, balance: Int, partition: Int, withoutClean: Bool,
               attempts: Int, startedMessage: String) throws -> Start {
        if !withoutClean {
            guard try flush(address) else {
                console.note("executing flush_all failed.")
                return .notCleaned
            }
            console.say("executed flush_all command before constructing the \(role.name) node.")
        }
        guard try requestRole(address, role: role.name, balance: balance, partition: partition, attempts: attempts,
                              startedMessage: startedMessage) else {
            console.note("failed to change the state.")
            return .refused
        }
        return .started
    }

    /// `flush_all` on the node about to be rebuilt, so no stale items survive the copy.
    func flush(_ address: NodeAddress) throws -> Bool {
        try session.withNode(address.endpoint) { try $0.flushAll().succeeded }
    }
}
