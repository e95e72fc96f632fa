import FlareCluster

/// FlareCluster's `ModularResolver` at the one partition count `verify` checks, built from
/// `meta` values as the tools take them: a hint or bucket count below 1 counts as 1, and a
/// cluster without partitions puts every key in partition 0.
public struct FixedCountResolver: Sendable {
    private let count: Int
    private let modular: ModularResolver

    /// Throws only for a bucket count or partition count beyond a C `int`, whose table could
    /// not be built.
    public init(partitionCount: Int, hint: Int = 1, virtualBuckets: Int = 4096) throws(ModularResolverError) {
        // Row 1 (every bucket in partition 0) is also the table of no partitions at all.
        let count = max(partitionCount, 1)
        self.count = count
        // The table needs a row for `count` (partition size count + 1; one beyond a C `int` is
        // refused). Up to the hint every row is plain `bucket % n`, so a hint at or above the
        // count gives the same table as the count itself.
        modular = try ModularResolver(partitionSize: min(count, Int(Int32.max)) + 1, hint: min(max(hint, 1), count),
                                      virtual: max(virtualBuckets, 1))
    }

    /// The partition of a key whose (sign-fixed) hash is `hash`.
    public func partition(ofHash hash: Int32) -> Int {
        modular.partition(forHash: hash, count: count)
    }

    /// Every bucket's partition, for inspection and tests.
    public var buckets: [Int] { modular.row(count: count) }
}
