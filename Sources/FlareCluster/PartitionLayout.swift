/// The routing tables derived from a node map (docs/original-behaviour.md, "Partition tables and node sync"): the
/// active partitions 0 … N−1 and at most one partition N being added.
public struct PartitionLayout: Sendable, Equatable {
    /// Active partitions; `active[p].number == p`.
    public let active: [Partition]
    /// The partition being added (its master is prepare or ready), numbered `activeCount`.
    public let preparing: Partition?
    /// Nodes left out of the tables, in node-key order.
    public let skippedNodes: [NodeInconsistency]

    /// No partitions at all: what a node routes with before it has a map (every data request
    /// then has "no partition available").
    public static let empty = PartitionLayout(active: [], preparing: nil, skippedNodes: [])

    /// N: the count used to resolve reads and the owner of a write.
    public var activeCount: Int { active.count }

    /// N' = N + 1 while a partition is being added: the count that finds its preparing owner.
    public var countIncludingPreparing: Int { active.count + (preparing == nil ? 0 : 1) }

    /// The active partition with this number.
    public func partition(_ number: Int) -> Partition? {
        active.indices.contains(number) ? active[number] : nil
    }

    /// The master of an active partition; nil if there is no such partition or its master is
    /// a preserved, down one.
    public func master(of partition: Int) -> PartitionMember? {
        self.partition(partition)?.master
    }

    /// The read multiset of an active partition (empty if there is no such partition).
    public func readers(of partition: Int) -> [String] {
        self.partition(partition)?.readers ?? []
    }
}

extension NodeMap {
    /// Derives the partition tables the way the original does after every change.
    ///
    /// Per-node inconsistencies only skip the node (`skippedNodes`); a structural violation
    /// throws so the caller keeps its previous tables.
    public func partitionLayout() throws(PartitionLayoutError) -> PartitionLayout {
        var active: [Int: Partition] = [:]
        var preparing: [Int: Partition] = [:]
        var skipped: [NodeInconsistency] = []

        // Step 1: masters, in node-key order.
        for node in entries where node.role == .master {
            guard node.partition >= 0 else {
                skipped.append(.noPartitionNumber(nodeKey: node.nodeKey, role: .master))
                continue
            }
            let member = PartitionMember(nodeKey: node.nodeKey, balance: node.balance)
            switch node.state {
            case .down:
                // A preserved master keeps its partition counted even with nobody to serve it.
                if active[node.partition] == nil { active[node.partition] = Partition(number: node.partition) }
            case .active:
                var partition = active[node.partition] ?? Partition(number: node.partition)
                if let existing = partition.master {
                    skipped.append(.secondMaster(nodeKey: node.nodeKey, partition: node.partition, existing: existing.nodeKey))
                    continue
                }
                partition.setMaster(member)
                active[node.partition] = partition
            case .prepare, .ready:
                var partition = preparing[node.partition] ?? Partition(number: node.partition)
                if let existing = partition.master {
                    skipped.append(.secondPreparingMaster(nodeKey: node.nodeKey, partition: node.partition, existing: existing.nodeKey))
                    continue
                }
                partition.setMaster(member)
                preparing[node.partition] = partition
            }
        }

        // Step 2: slaves that are not down; only an active slave takes reads.
        for node in entries where node.role == .slave && node.state != .down {
            let member = PartitionMember(nodeKey: node.nodeKey, balance: node.state == .active ? node.balance : 0)
            if active[node.partition] != nil {
                active[node.partition]!.addSlave(member)
            } else if preparing[node.partition] != nil {
                preparing[node.partition]!.addSlave(member)
            } else if node.partition < 0 {
                skipped.append(.noPartitionNumber(nodeKey: node.nodeKey, role: .slave))
            } else {
                skipped.append(.slaveOfUnknownPartition(nodeKey: node.nodeKey, partition: node.partition))
            }
        }

        // Step 3: the structure itself.
        let activeCount = active.count
        for number in 0..<activeCount where active[number] == nil {
            throw .missingActivePartition(number, activeCount: activeCount)
        }
        guard preparing.count <= 1 else { throw .severalPreparingPartitions(preparing.keys.sorted()) }
        if let number = preparing.keys.first, number != activeCount {
            throw .preparingPartitionNotNext(number, expected: activeCount)
        }

        return PartitionLayout(
            active: (0..<activeCount).map { active[$0]! },
            preparing: preparing.values.first,
            skippedNodes: skipped
        )
    }
}
