/// A node the partition tables had to leave out (docs/original-behaviour.md, "Partition tables and node sync"). The
/// rest of the tables is still used; index start-up fails on any of these.
public enum NodeInconsistency: Error, Equatable, Sendable, CustomStringConvertible {
    /// A master or slave with a negative partition number.
    case noPartitionNumber(nodeKey: String, role: NodeRole)
    /// A second active master for a partition that already has one.
    case secondMaster(nodeKey: String, partition: Int, existing: String)
    /// A second prepare/ready master for a partition being added.
    case secondPreparingMaster(nodeKey: String, partition: Int, existing: String)
    /// A slave of a partition that has neither an active nor a preparing entry.
    case slaveOfUnknownPartition(nodeKey: String, partition: Int)

    public var description: String {
        switch self {
        case .noPartitionNumber(let key, let role):
            return "\(role.name) \(key) has no partition number; skipped"
        case .secondMaster(let key, let partition, let existing):
            return "master \(key) of partition \(partition) skipped: \(existing) is already its master"
        case .secondPreparingMaster(let key, let partition, let existing):
            return "preparing master \(key) of partition \(partition) skipped: \(existing) is already preparing it"
        case .slaveOfUnknownPartition(let key, let partition):
            return "slave \(key) skipped: partition \(partition) has no master"
        }
    }
}

/// A node map whose partitions do not form a valid layout (docs/original-behaviour.md, "Partition tables and node
/// sync"): the previous tables stay in place.
public enum PartitionLayoutError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Active partitions must be numbered 0 … N−1; this one is missing.
    case missingActivePartition(Int, activeCount: Int)
    /// At most one partition may be being added at a time.
    case severalPreparingPartitions([Int])
    /// The partition being added must be number N (the next one).
    case preparingPartitionNotNext(Int, expected: Int)

    public var description: String {
        switch self {
        case .missingActivePartition(let missing, let count):
            return "active partitions must be numbered 0…\(count - 1) but partition \(missing) has no master"
        case .severalPreparingPartitions(let partitions):
            let list = partitions.map(String.init).joined(separator: ", ")
            return "only one partition can be prepared at a time, found \(list)"
        case .preparingPartitionNotNext(let partition, let expected):
            return "prepared partition \(partition) must be the next partition \(expected)"
        }
    }
}
