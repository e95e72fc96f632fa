/// `node add <name> <port>`, sent by every flared at start-up (index-server.md §2.1).
extension IndexState {
    /// An unknown node joins as an active proxy with the next thread type, and gets a monitor.
    /// A known down node (restarting before its monitor noticed it back) keeps its entry as it
    /// is: the next up event revives it. Any other known node is refused, so a flared cannot
    /// start twice under the same key. The caller replies with `map.nodeLines` and `END`.
    public mutating func addNode(name: String, port: Int) throws(IndexCommandError) -> IndexChange {
        let key = NodeEntry.nodeKey(name: name, port: port)
        if let existing = map[nodeKey: key] {
            guard existing.state == .down else {
                throw IndexCommandError("\(key) is already in the node map (\(existing.role.name)/\(existing.state.name))")
            }
            // Its monitor thread is still running from before.
            return .saveAndPush
        }
        map.upsert(.freshProxy(name: name, port: port, threadType: nextThreadType))
        nextThreadType += 1
        return IndexChange(startMonitor: key)
    }
}
