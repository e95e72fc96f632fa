/// `node add <name> <port>`, sent by every flared at start-up (docs/original-behaviour.md, "Index server commands").
extension IndexState {
    /// An unknown node joins as an active proxy with the next thread type, and gets a monitor.
    /// A known down node (restarting before its monitor noticed it back) keeps its entry as it
    /// is: the next up event revives it. A known node that is not down restarted before its
    /// monitor noticed it failing: see `readmitRestartedNode`. The caller replies with
    /// `map.nodeLines` and `END`.
    public mutating func addNode(name: String, port: Int) throws(IndexCommandError) -> IndexChange {
        let key = NodeEntry.nodeKey(name: name, port: port)
        guard let existing = map[nodeKey: key] else {
            map.upsert(.freshProxy(name: name, port: port, threadType: nextThreadType))
            nextThreadType += 1
            return IndexChange(startMonitor: key)
        }
        guard existing.state == .down else { return try readmitRestartedNode(nodeKey: key) }
        // Its monitor thread is still running from before.
        return .saveAndPush
    }

    /// A listed node that is not down registers again. The original refused this so that a flared
    /// could not start twice under one key, but a second process cannot get this far while the first
    /// lives: flared binds its address and port (and a persistent store locks its data directory)
    /// before it sends `node add`, and a running process registers again only when the index no longer lists it (or
    /// never answered it, before it held any role). So the first process is gone (killed and restarted
    /// faster than the monitor counts failed pings), and with it everything it held only in memory:
    /// replication in flight, a master's slave links, a slave's catch-up position. Refusing left it
    /// fenced for good (its pings succeed, so it is never marked down) and its partition stuck.
    ///
    /// It is treated as a node that failed and came back: the node down procedure (an active master
    /// hands its partition to its best active slave, or is preserved without one), then, since it
    /// answers, the node up procedure (it returns as an active proxy, a preserved master as master).
    /// Its monitor keeps running.
    private mutating func readmitRestartedNode(nodeKey key: String) throws(IndexCommandError) -> IndexChange {
        let down = try nodeDown(nodeKey: key, shutdown: false)
        let up = try nodeUp(nodeKey: key)
        // A promoted slave is pushed to first, as on any fail-over.
        return IndexChange(priority: down.priority + up.priority)
    }
}
