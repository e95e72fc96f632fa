import FlareCluster

/// `verify`: checks that every master and slave holds only keys of its own partition, by
/// recomputing each key's partition from `dump_key P N` and `dump 0 P N 0`. Optionally
/// (`--use-test-data`) stores 10000 keys first, checks they were all seen, and deletes them.
/// Progress and the verdict (`OK`/`NG`) go to stderr, as in the original.
public struct VerifyOperation {
    public var keyHashAlgorithm = KeyHashAlgorithm.simple
    /// Take the algorithm and resolver parameters from the index's `meta` (and ask `stats`).
    public var useMeta = false
    public var useTestData = false
    /// Print every misplaced key.
    public var debug = false
    /// Print every test key that was not found.
    public var verbose = false

    public init(keyHashAlgorithm: KeyHashAlgorithm = .simple, useMeta: Bool = false, useTestData: Bool = false,
                debug: Bool = false, verbose: Bool = false) {
        self.keyHashAlgorithm = keyHashAlgorithm
        self.useMeta = useMeta
        self.useTestData = useTestData
        self.debug = debug
        self.verbose = verbose
    }

    static let testKeyCount = 10000

    public func run(_ session: ToolSession) throws -> ToolStatus {
        let console = session.console
        var algorithm = keyHashAlgorithm
        var hint = 1, virtualBuckets = 4096
        let map = try session.withIndex { index -> NodeStatMap in
            if useMeta {
                let meta = try index.meta()
                _ = try index.stats()
                // The original only knows simple and crc32 and computes `simple` differently
                // from the server; here the server's own algorithms and resolver are used.
                algorithm = meta.keyHashAlgorithm.flatMap(KeyHashAlgorithm.init(partitioningName:)) ?? .simple
                hint = meta.partitionModularHint ?? hint
                virtualBuckets = meta.partitionModularVirtual ?? virtualBuckets
            }
            return try index.statsNodes()
        }
        console.note("key_hash_algorithm = \(algorithm.rawValue)")
        let nodes = map.statsOrder
        guard let first = nodes.first else {
            console.note("no nodes")
            return .failure
        }
        let partitionCount = map.partitionCount
        guard partitionCount > 0 else {
            console.note("no need to verify.")
            return .failure
        }
        console.note("partition_size: \(partitionCount)")
        let resolver: FixedCountResolver
        do {
            resolver = try FixedCountResolver(partitionCount: partitionCount, hint: hint, virtualBuckets: virtualBuckets)
        } catch {
            throw ToolError.operationFailed("\(error)")
        }
        let testKeys = useTestData ? (1...Self.testKeyCount).map { ".test." + MD5.hex(String($0)) } : []
        if useTestData {
            console.note("storing test data ...")
            try session.withNode(first.endpoint) { node in
                for (offset, key) in testKeys.enumerated() { _ = try node.set(key: key, value: Array(String(offset + 1).utf8)) }
            }
        }
        var found = Set<String>()
        var status = ToolStatus.success
        // Proxies hold no partition (`dump_key -1 N` is an error), so only masters and slaves are checked.
        for node in nodes where node.partition >= 0 {
            console.err.write("checking \(node.key) ... ")
            var verdict = "OK"
            func check(_ key: String, _ source: String) -> Bool {
                let hash = algorithm.hash(Array(key.utf8))
                let owner = resolver.partition(ofHash: hash)
                guard owner != node.partition else { return true }
                if debug {
                    console.note("\(source) failed: the partition for \(key)(\(hash)) is \(owner) but it was dumped from \(node.partition).")
                }
                verdict = "NG"
                status = .failure
                return false
            }
            try session.withNode(node.endpoint) { client in
                var count = 0
                console.err.write("keydump ... ")
                let keysEnd = try client.dumpKey(partition: node.partition, partitionCount: partitionCount) { key in
                    count += 1
                    if check(key, "keydump") { found.insert(key) }
                }
                console.err.write("\(count) entries. ")
                count = 0
                console.err.write("dump ... ")
                let itemsEnd = try client.dump(wait: 0, partition: node.partition, partitionCount: partitionCount, bandwidthLimit: 0) { item in
                    count += 1
                    _ = check(item.key, "dump")
                }
                console.err.write("\(count) entries. ")
                if keysEnd != .end || itemsEnd != .end {
                    verdict = "NG"
                    status = .failure
                }
            }
            console.note(verdict)
        }
        if useTestData {
            let missing = testKeys.filter { !found.contains($0) }
            if verbose { missing.forEach { console.note("failed: not found '\($0)'") } }
            if !missing.isEmpty {
                console.note("failed: not found \(missing.count) keys")
                status = .failure
            }
            try session.withNode(first.endpoint) { node in
                for key in testKeys { _ = try node.delete(key: key) }
            }
        }
        console.note(status == .success ? "OK" : "NG")
        return status
    }
}
