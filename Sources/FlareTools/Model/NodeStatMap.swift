/// The cluster as `stats nodes` shows it, in reply (node-key) order, with the partition
/// queries the sub-commands need (the original's `Cluster` class).
public struct NodeStatMap: Equatable, Sendable {
    public let nodes: [NodeStat]

    public init(nodes: [NodeStat]) {
        self.nodes = nodes
    }

    /// Parses `STAT host:port:attr value` lines (docs/original-behaviour.md, "stats replies"): after removing `STAT `,
    /// split at `:` into host, port and rest, then the rest into attribute and its first-word value.
    public init(payload: [String]) throws {
        var nodes: [NodeStat] = []
        var indexByKey: [String: Int] = [:]
        for line in payload {
            let text = RubySplit.removingAll("STAT ", from: line)
            let parts = text.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { throw ReplyFormatError(line: line) }
            let words = RubySplit.words(parts[2])
            guard let attribute = words.first else { throw ReplyFormatError(line: line) }
            let key = "\(parts[0]):\(parts[1])"
            if indexByKey[key] == nil {
                indexByKey[key] = nodes.count
                nodes.append(NodeStat(host: String(parts[0]), port: String(parts[1])))
            }
            nodes[indexByKey[key]!].set(String(attribute), words.count > 1 ? String(words[1]) : "")
        }
        self.init(nodes: nodes)
    }

    public subscript(key: String) -> NodeStat? { nodes.first { $0.key == key } }

    public func contains(_ key: String) -> Bool { self[key] != nil }

    /// Highest partition number + 1: the partition count `dump` and `verify` use.
    public var partitionCount: Int { (nodes.map(\.partition).max() ?? -1) + 1 }

    /// The master of partition `p` (the last one in key order, as the original picks it).
    public func master(inPartition partition: Int) -> NodeStat? {
        nodes.last { $0.partition == partition && partition >= 0 && $0.isMaster }
    }

    public func slaves(inPartition partition: Int) -> [NodeStat] {
        nodes.filter { $0.partition == partition && partition >= 0 && $0.isSlave }
    }

    /// Nodes sorted by (partition with -1 last, role, key): the order of `list` and of the
    /// node lists `--all` expands to.
    public var listOrder: [NodeStat] {
        let count = partitionCount
        return nodes.sorted { a, b in
            let pa = a.partition < 0 ? count : a.partition, pb = b.partition < 0 ? count : b.partition
            return (pa, a.role, a.key) < (pb, b.role, b.key)
        }
    }

    /// Nodes sorted by (numeric partition, role, key): `stats` and `summary` order, where
    /// proxies (-1) come first, as in the original.
    public var statsOrder: [NodeStat] {
        nodes.sorted { ($0.partition, $0.role, $0.key) < ($1.partition, $1.role, $1.key) }
    }

    public var masterKeys: [String] { listOrder.filter(\.isMaster).map(\.key) }
    public var masterAndSlaveKeys: [String] { listOrder.filter { $0.isMaster || $0.isSlave }.map(\.key) }

    /// A node can be reconstructed when it is active and its data survives elsewhere: a slave
    /// always, a master only if one of its slaves is active (it takes over the partition).
    public func isReconstructable(_ key: String) -> Bool {
        guard let node = self[key], node.isActive else { return false }
        if node.isSlave { return true }
        if node.isMaster { return slaves(inPartition: node.partition).contains { $0.isActive } }
        return false
    }

    /// Reconstruction keeps redundancy: another active slave besides a slave, or two active
    /// slaves for a master (one becomes master, one stays a replica).
    public func isSafelyReconstructable(_ key: String) -> Bool {
        guard let node = self[key], node.isActive else { return false }
        let activeSlaves = slaves(inPartition: node.partition).filter(\.isActive)
        if node.isSlave { return activeSlaves.contains { $0.key != key } }
        if node.isMaster { return activeSlaves.count >= 2 }
        return false
    }
}
