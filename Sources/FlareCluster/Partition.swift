/// A node serving a partition, with the read weight the routing tables use for it.
public struct PartitionMember: Sendable, Equatable, Hashable {
    public let nodeKey: String
    public let balance: Int

    public init(nodeKey: String, balance: Int) {
        self.nodeKey = nodeKey
        self.balance = balance
    }
}

/// One partition of the routing tables derived from the node map (docs/original-behaviour.md, "Partition tables and
/// node sync").
public struct Partition: Sendable, Equatable {
    public let number: Int
    /// The master; nil for a partition kept only by a preserved master that is down (the
    /// original records master key "" there), so the partition count does not shrink.
    public internal(set) var master: PartitionMember?
    /// Slaves that are not down, in node-key order; they receive replicated writes.
    public internal(set) var slaves: [PartitionMember]
    /// The read multiset: each member's node key repeated `balance` times, master first, then
    /// slaves in node-key order. A read is sent to a uniformly random element.
    public internal(set) var readers: [String]

    init(number: Int) {
        self.number = number
        master = nil
        slaves = []
        readers = []
    }

    mutating func setMaster(_ member: PartitionMember) {
        master = member
        addReader(member)
    }

    mutating func addSlave(_ member: PartitionMember) {
        slaves.append(member)
        addReader(member)
    }

    /// The largest read weight a node can have: the read multiset holds a node `balance` times, so
    /// an unbounded balance (one `node role … 2147483647`) would make every daemon that builds
    /// the tables allocate tens of GiB. The index refuses more; a map holding more is clamped.
    public static let maximumBalance = 65_535

    private mutating func addReader(_ member: PartitionMember) {
        readers.append(contentsOf: repeatElement(member.nodeKey, count: min(max(0, member.balance), Self.maximumBalance)))
    }
}
