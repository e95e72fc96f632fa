/// The index's table of all nodes, and every flared's last received copy of it (docs/original-behaviour.md, "Node
/// map").
///
/// Entries are kept ordered by node key compared byte-wise (not by Swift's Unicode string
/// order), because every listing of the original — `stats nodes`, `NODE` lines — comes from
/// a `std::map<std::string, …>` in that order.
public struct NodeMap: Sendable, Equatable {
    public private(set) var entries: [NodeEntry]

    public init() { entries = [] }

    /// A map of these nodes in node-key order; throws if a node key appears twice.
    public init(_ nodes: [NodeEntry]) throws(NodeMapError) {
        let sorted = nodes.sorted { Self.precedes($0.nodeKey, $1.nodeKey) }
        for (earlier, later) in zip(sorted, sorted.dropFirst()) where Self.same(earlier.nodeKey, later.nodeKey) {
            throw .duplicateNode(later.nodeKey)
        }
        entries = sorted
    }

    /// A map read from `NODE` lines (the body of a `node add` reply or a `node sync` push,
    /// without its `END`).
    public init(nodeLines lines: [String]) throws(NodeMapError) {
        var nodes: [NodeEntry] = []
        nodes.reserveCapacity(lines.count)
        for (index, line) in lines.enumerated() {
            do throws(NodeLineError) {
                nodes.append(try NodeEntry(nodeLine: line))
            } catch {
                throw .badLine(number: index + 1, error)
            }
        }
        try self.init(nodes)
    }

    public var isEmpty: Bool { entries.isEmpty }
    public var count: Int { entries.count }

    public subscript(nodeKey key: String) -> NodeEntry? {
        guard let index = index(of: key) else { return nil }
        return entries[index]
    }

    public subscript(name name: String, port port: Int) -> NodeEntry? {
        self[nodeKey: NodeEntry.nodeKey(name: name, port: port)]
    }

    /// Adds the node, or replaces the entry with the same node key.
    public mutating func upsert(_ node: NodeEntry) {
        let key = node.nodeKey
        let position = insertionPoint(of: key)
        if position < entries.count && Self.same(entries[position].nodeKey, key) {
            entries[position] = node
        } else {
            entries.insert(node, at: position)
        }
    }

    /// Removes the node with this key, returning it if it was there.
    @discardableResult
    public mutating func remove(nodeKey key: String) -> NodeEntry? {
        guard let index = index(of: key) else { return nil }
        return entries.remove(at: index)
    }

    /// One `NODE …\r\n` line per node in node-key order; the caller appends `END\r\n`.
    public var nodeLines: String {
        var text = ""
        for node in entries {
            text += node.nodeLine
            text += "\r\n"
        }
        return text
    }

    /// The five `STAT <name>:<port>:<attribute> <value>\r\n` lines per node of `stats nodes`
    /// (docs/original-behaviour.md, "stats replies"), in node-key order; the caller appends `END\r\n`.
    public var statsNodesLines: String {
        var text = ""
        for node in entries {
            let prefix = "STAT \(node.nodeKey):"
            text += "\(prefix)role \(node.role.name)\r\n"
            text += "\(prefix)state \(node.state.name)\r\n"
            text += "\(prefix)partition \(node.partition)\r\n"
            text += "\(prefix)balance \(node.balance)\r\n"
            text += "\(prefix)thread_type \(node.threadType)\r\n"
        }
        return text
    }

    /// Byte-wise ordering of node keys, as C++ `std::string` compares them.
    public static func precedes(_ lhs: String, _ rhs: String) -> Bool {
        lhs.utf8.lexicographicallyPrecedes(rhs.utf8)
    }

    /// Byte-wise key identity: Swift's `==` would equate differently normalised Unicode
    /// spellings, which the original (and the wire) treats as different nodes.
    private static func same(_ lhs: String, _ rhs: String) -> Bool {
        lhs.utf8.elementsEqual(rhs.utf8)
    }

    /// Where the node with this key is in `entries`.
    public func position(of key: String) -> Int? { index(of: key) }

    private func index(of key: String) -> Int? {
        let position = insertionPoint(of: key)
        return position < entries.count && Self.same(entries[position].nodeKey, key) ? position : nil
    }

    /// First position whose key does not precede `key` (binary search over the sorted entries).
    private func insertionPoint(of key: String) -> Int {
        var low = 0
        var high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if Self.precedes(entries[middle].nodeKey, key) { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
