/// `node remove <name> <port>` (docs/original-behaviour.md, "Index server commands").
extension IndexState {
    /// Deletes a down node. A down master is removable only when another node of its partition
    /// is up; otherwise it is the one keeping the partition counted (preserved master).
    public mutating func removeNode(name: String, port: Int) throws(IndexCommandError) -> IndexChange {
        let key = NodeEntry.nodeKey(name: name, port: port)
        guard let node = map[nodeKey: key] else { throw .noSuchNode(key) }
        guard node.state == .down else {
            throw IndexCommandError("\(key) is \(node.state.name); only a down node can be removed")
        }
        if node.role == .master && !map.hasOtherLiveNode(in: node.partition, besides: key) {
            throw IndexCommandError("\(key) is the preserved master of partition \(node.partition) and cannot be removed")
        }
        map.remove(nodeKey: key)
        return IndexChange(stopMonitor: key)
    }
}
