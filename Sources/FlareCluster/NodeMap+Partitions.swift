/// Partition facts the index's transition rules consult (docs/original-behaviour.md, "Index server commands").
///
/// They are derived from the node map itself rather than from `partitionLayout()`, because the
/// rules must still work on a map whose layout is inconsistent (the original only logs that and
/// carries on with the counts below, which equal the layout's when it is consistent).
extension NodeMap {
    /// N: the number of partitions in the active table, i.e. of distinct partitions held by an
    /// active master or preserved by a down one.
    var activePartitionCount: Int {
        Set(entries.lazy
            .filter { $0.role == .master && $0.partition >= 0 && ($0.state == .active || $0.state == .down) }
            .map(\.partition)
        ).count
    }

    /// Whether partition P is in the active table (see `activePartitionCount`).
    func isActivePartition(_ partition: Int) -> Bool {
        entries.contains { $0.role == .master && $0.partition == partition && ($0.state == .active || $0.state == .down) }
    }

    /// Slaves listed for partition P, in node-key order: every slave that is not down.
    func listedSlaves(of partition: Int) -> [NodeEntry] {
        entries.filter { $0.role == .slave && $0.state != .down && $0.partition == partition }
    }

    /// Slaves of P while P is being added (its master is prepare or ready). A slave of a
    /// partition that is also in the active table belongs to that table instead.
    func preparingSlaves(of partition: Int) -> [NodeEntry] {
        isActivePartition(partition) ? [] : listedSlaves(of: partition)
    }

    /// The first (node-key order) master of P that is not down: the copy source a new slave of
    /// P attaches to.
    func liveMaster(of partition: Int) -> NodeEntry? {
        entries.first { $0.role == .master && $0.state != .down && $0.partition == partition }
    }

    /// Whether some node other than `key` with partition number P is not down.
    func hasOtherLiveNode(in partition: Int, besides key: String) -> Bool {
        entries.contains { $0.partition == partition && $0.state != .down && !$0.nodeKey.utf8.elementsEqual(key.utf8) }
    }

    /// Whether some node other than `key` serves partition P: an active master or active slave.
    /// A slave still copying does not count: it cannot take the partition over.
    func hasOtherServingNode(in partition: Int, besides key: String) -> Bool {
        entries.contains {
            $0.partition == partition && $0.state == .active && ($0.role == .master || $0.role == .slave)
                && !$0.nodeKey.utf8.elementsEqual(key.utf8)
        }
    }

    /// Sum of the balances of every node numbered with P, whatever its role or state.
    func balanceSum(of partition: Int) -> Int {
        entries.lazy.filter { $0.partition == partition }.reduce(0) { $0 + $1.balance }
    }
}

extension NodeMap {
    /// Applies `change` to the entry with this key, if there is one. The key must not change.
    mutating func update(_ key: String, _ change: (inout NodeEntry) -> Void) {
        guard var node = self[nodeKey: key] else { return }
        change(&node)
        upsert(node)
    }
}
