extension IndexState {
    /// The balance check of `node role` (docs/original-behaviour.md, "Index server commands"): B is not negative, the
    /// node has a partition, and the partition's total balance with B in place of the node's own stays
    /// above 0 — otherwise nobody would take the partition's reads.
    func checkBalance(_ balance: Int, for node: NodeEntry) throws(IndexCommandError) {
        guard balance >= 0 else {
            throw IndexCommandError("balance \(balance) of \(node.nodeKey) is negative")
        }
        guard balance <= Partition.maximumBalance else {
            throw IndexCommandError("balance \(balance) of \(node.nodeKey) is above the largest read weight, \(Partition.maximumBalance)")
        }
        guard node.partition >= 0 else {
            throw IndexCommandError("\(node.nodeKey) has no partition, its balance cannot be checked")
        }
        let total = map.balanceSum(of: node.partition) - node.balance + balance
        guard total > 0 else {
            throw IndexCommandError(
                "balance \(balance) of \(node.nodeKey) would leave partition \(node.partition) with a total balance of 0")
        }
    }
}
