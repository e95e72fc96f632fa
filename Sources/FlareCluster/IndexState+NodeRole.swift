/// `node role <name> <port> <role> [balance] [partition]` (docs/original-behaviour.md, "Index server commands").
extension IndexState {
    /// Applies the node role transition table. `balance` and `partition` are -1 when missing.
    /// A refusal leaves the state untouched; every success is saved and pushed, even a proxy
    /// asked to stay a proxy.
    public mutating func setRole(
        name: String, port: Int, role: NodeRole, balance: Int, partition: Int
    ) throws(IndexCommandError) -> IndexChange {
        let key = NodeEntry.nodeKey(name: name, port: port)
        guard var node = map[nodeKey: key] else { throw .noSuchNode(key) }
        let wasSlave = node.role == .slave

        switch node.state {
        case .down:
            throw IndexCommandError("\(key) is down; the role of a down node cannot be changed")
        case .prepare, .ready:
            switch node.role {
            case .master: try changePreparingMaster(&node, to: role, balance: balance)
            case .slave: try changePreparingSlave(&node, to: role, balance: balance)
            case .proxy:
                // A preparing proxy is an inconsistent entry: it is treated as an active one,
                // and saved as such whatever is asked.
                node.state = .active
                try changeActiveProxy(&node, to: role, balance: balance, partition: partition)
            }
        case .active:
            switch node.role {
            case .master: try changeActiveMaster(&node, to: role, balance: balance)
            case .slave: try changeActiveSlave(&node, to: role, balance: balance)
            case .proxy: try changeActiveProxy(&node, to: role, balance: balance, partition: partition)
            }
        }
        map.upsert(node)
        // A new slave dumps its master's data, and only the writes the master makes after it has
        // seen the slave in its map are replicated to it. Pushed in parallel, the slave could
        // start (even finish) its dump before the master learns about it, and the writes in
        // between would never reach the slave: so the master gets the map first.
        if !wasSlave, node.role == .slave, node.state == .prepare, let master = map.liveMaster(of: node.partition) {
            return IndexChange(priority: [master.nodeKey])
        }
        return .saveAndPush
    }

    /// A master still copying its new partition (prepare) or waiting for activation (ready).
    private mutating func changePreparingMaster(_ node: inout NodeEntry, to role: NodeRole, balance: Int) throws(IndexCommandError) {
        switch role {
        case .master:
            try checkBalance(balance, for: node)
            node.balance = balance
        case .slave:
            throw IndexCommandError("\(node.nodeKey) is a preparing master and cannot become a slave")
        case .proxy:
            // Abandoning the partition being added takes its slaves with it.
            for slave in map.preparingSlaves(of: node.partition) {
                map.update(slave.nodeKey) { $0.becomeActiveProxy() }
            }
            node.becomeActiveProxy()
        }
    }

    /// A slave still copying from its master (prepare), or marked ready.
    private func changePreparingSlave(_ node: inout NodeEntry, to role: NodeRole, balance: Int) throws(IndexCommandError) {
        switch role {
        case .master:
            throw IndexCommandError("\(node.nodeKey) is a preparing slave and cannot become a master")
        case .slave:
            // Its master going active will make the slave's reads count, so the weight may only
            // be set while the whole partition is still being added; otherwise it is set once
            // the slave is active.
            guard node.partition >= 0, let master = map.liveMaster(of: node.partition) else {
                throw IndexCommandError("partition \(node.partition) of \(node.nodeKey) has no master that is up")
            }
            guard master.state != .active else {
                throw IndexCommandError(
                    "\(node.nodeKey) is still preparing under active master \(master.nodeKey); its balance stays 0 until it is active")
            }
            try checkBalance(balance, for: node)
            node.balance = balance
        case .proxy:
            // No balance check: a preparing slave takes no reads.
            node.becomeActiveProxy()
        }
    }

    private func changeActiveMaster(_ node: inout NodeEntry, to role: NodeRole, balance: Int) throws(IndexCommandError) {
        guard role == .master else {
            throw IndexCommandError("\(node.nodeKey) is an active master; it loses that role only by going down")
        }
        try checkBalance(balance, for: node)
        node.balance = balance
    }

    private func changeActiveSlave(_ node: inout NodeEntry, to role: NodeRole, balance: Int) throws(IndexCommandError) {
        switch role {
        case .master:
            throw IndexCommandError("\(node.nodeKey) is an active slave; it becomes master only by fail-over")
        case .slave:
            try checkBalance(balance, for: node)
            node.balance = balance
        case .proxy:
            // Leaving must not leave the partition without readers.
            try checkBalance(0, for: node)
            node.becomeActiveProxy()
        }
    }

    private func changeActiveProxy(_ node: inout NodeEntry, to role: NodeRole, balance: Int, partition: Int) throws(IndexCommandError) {
        switch role {
        case .master: try makeMaster(&node, balance: balance, partition: partition)
        case .slave: try makeSlave(&node, balance: balance, partition: partition)
        case .proxy: break
        }
    }

    /// "New master": the next partition N (prepare; active when it is the very first), or the
    /// replacement of a preserved, down master of P < N (active at once).
    private func makeMaster(_ node: inout NodeEntry, balance: Int, partition: Int) throws(IndexCommandError) {
        let count = map.activePartitionCount
        guard (0...count).contains(partition) else {
            throw IndexCommandError(
                "partition \(partition) for new master \(node.nodeKey) is not between 0 and the next partition \(count)")
        }
        let masters = map.entries.filter { $0.role == .master && $0.partition == partition }
        let state: NodeState
        if partition == count {
            if let existing = masters.first {
                throw IndexCommandError("partition \(partition) already has master \(existing.nodeKey) (\(existing.state.name))")
            }
            // Partition 0 of an empty cluster has nothing to copy from.
            state = partition == 0 ? .active : .prepare
        } else {
            if let live = masters.first(where: { $0.state != .down }) {
                throw IndexCommandError("partition \(partition) already has master \(live.nodeKey) (\(live.state.name))")
            }
            state = .active
        }
        guard balance > 0, balance <= Partition.maximumBalance else {
            throw IndexCommandError("balance \(balance) of new master \(node.nodeKey) must be between 1 and \(Partition.maximumBalance)")
        }
        node.role = .master
        node.state = state
        node.balance = balance
        node.partition = partition
    }

    /// "New slave" of an active or preparing master of P; it starts copying (prepare).
    private func makeSlave(_ node: inout NodeEntry, balance: Int, partition: Int) throws(IndexCommandError) {
        guard partition >= 0 else {
            throw IndexCommandError("partition \(partition) for new slave \(node.nodeKey) is negative")
        }
        guard balance <= Partition.maximumBalance else {
            throw IndexCommandError("balance \(balance) of new slave \(node.nodeKey) is above the largest read weight, \(Partition.maximumBalance)")
        }
        guard let master = map.liveMaster(of: partition) else {
            throw IndexCommandError("partition \(partition) has no master that is up for new slave \(node.nodeKey)")
        }
        // Under an active master the slave must not take reads before it has all the data; it
        // gets its balance once active. Under a preparing master nobody reads the partition yet.
        let preparing = master.state != .active
        node.role = .slave
        node.state = .prepare
        node.partition = partition
        node.balance = preparing ? max(balance, 0) : 0
    }
}
