/// flare's modular key → partition table (cluster-behaviour.md §2), built row by row up to the
/// partition count in use: below the hint plain `bucket % n`, above it each new partition takes
/// every (n-1)-th bucket of each old partition.
public struct ModularResolver: Sendable {
    public let hint: Int
    public let virtualBuckets: Int
    public let partitionCount: Int
    private let row: [Int]

    public init(partitionCount: Int, hint: Int = 1, virtualBuckets: Int = 4096) {
        // A hint below 1 has no row to start from (the original would crash); treat it as 1.
        self.hint = max(hint, 1)
        self.virtualBuckets = max(virtualBuckets, 1)
        self.partitionCount = partitionCount
        var row = [Int](repeating: 0, count: self.virtualBuckets)
        if partitionCount >= 1 {
            for n in 1...partitionCount {
                if n <= self.hint {
                    for bucket in row.indices { row[bucket] = bucket % n }
                } else {
                    var counter = [Int](repeating: 0, count: n)
                    for bucket in row.indices {
                        let old = row[bucket]
                        counter[old] += 1
                        if counter[old] % n == n - 1 { row[bucket] = n - 1 }
                    }
                }
            }
        }
        self.row = row
    }

    /// The partition of a key whose (sign-fixed) hash is `hash`.
    public func partition(ofHash hash: Int32) -> Int {
        var bucket = Int(hash) % virtualBuckets
        if bucket < 0 { bucket += virtualBuckets }
        return row[bucket]
    }

    /// The buckets of the current row, for inspection and tests.
    public var buckets: [Int] { row }
}
