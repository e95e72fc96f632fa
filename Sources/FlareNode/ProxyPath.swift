import FlareProtocol

/// The `<node,node@stamp>` prefix of a request that came through other nodes: each node key it
/// passed, in order. A copy — a master's replicated write — names its master last, stamped
/// `@<map version>` with the node map the master acted under (see CopyFloors); a write a proxy
/// forwards for its owner to execute carries no stamp.
enum ProxyPath {
    /// The last node of `path` (the sender) and its stamp, if it has one.
    static func lastHop(_ path: UnsafeRawBufferPointer) -> (node: UnsafeRawBufferPointer, stamp: UInt64?) {
        // Read for every copy a slave applies: a plain backward scan, no generic slicing.
        let hop = lastIndex(of: UInt8(ascii: ","), in: path).map { UnsafeRawBufferPointer(rebasing: path[($0 + 1)...]) } ?? path
        guard let at = lastIndex(of: UInt8(ascii: "@"), in: hop) else { return (hop, nil) }
        let node = UnsafeRawBufferPointer(rebasing: hop[..<at])
        // A malformed stamp is no stamp: the request is then not taken for a copy.
        return (node, Decimal.uint64(UnsafeRawBufferPointer(rebasing: hop[(at + 1)...])) ?? nil)
    }

    /// The index of the last `byte` in `bytes` (relative to its start, like `lastIndex(of:)`).
    private static func lastIndex(of byte: UInt8, in bytes: UnsafeRawBufferPointer) -> Int? {
        var index = bytes.count
        while index > 0 {
            index -= 1
            if bytes[index] == byte { return index }
        }
        return nil
    }

    /// How often `nodeKey` appears in `path`, stamps ignored.
    static func count(of nodeKey: String, in path: UnsafeRawBufferPointer) -> Int {
        guard !path.isEmpty else { return 0 }
        var count = 0
        var start = path.startIndex
        while start <= path.endIndex {
            let end = path[start...].firstIndex(of: UInt8(ascii: ",")) ?? path.endIndex
            var hop = UnsafeRawBufferPointer(rebasing: path[start..<end])
            if let at = hop.lastIndex(of: UInt8(ascii: "@")) { hop = UnsafeRawBufferPointer(rebasing: hop[..<at]) }
            if hop.elementsEqual(nodeKey.utf8) { count += 1 }
            start = end + 1
        }
        return count
    }
}
