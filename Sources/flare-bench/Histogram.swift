/// Log-linear latency histogram (HdrHistogram-like): values below 2^subBits are exact,
/// above that each power of two is split into 2^subBits linear buckets, so the relative
/// error is at most 1/64. Storage is allocated once; recording never allocates.
final class Histogram {
    static let subBits = 6
    static let subCount = 1 << subBits
    static let bucketCount = (64 - subBits + 1) * subCount

    private let counts: UnsafeMutablePointer<UInt64>
    private(set) var total: UInt64 = 0
    private(set) var max: UInt64 = 0
    private(set) var sum: UInt64 = 0

    init() {
        counts = .allocate(capacity: Self.bucketCount)
        counts.initialize(repeating: 0, count: Self.bucketCount)
    }

    deinit { counts.deallocate() }

    @inline(__always)
    static func index(_ v: UInt64) -> Int {
        if v < UInt64(subCount) { return Int(v) }
        let msb = 63 - v.leadingZeroBitCount
        let shift = msb - subBits
        let top = Int(v >> UInt64(shift))          // in [subCount, 2*subCount)
        return (shift + 1) * subCount + (top - subCount)
    }

    /// Highest value that maps to bucket `i`.
    static func upperBound(_ i: Int) -> UInt64 {
        if i < subCount { return UInt64(i) }
        let shift = i / subCount - 1
        let top = UInt64(i % subCount + subCount)
        return ((top + 1) << UInt64(shift)) &- 1
    }

    @inline(__always)
    func record(_ v: UInt64) {
        counts[Self.index(v)] &+= 1
        total &+= 1
        sum &+= v
        if v > max { max = v }
    }

    func merge(_ other: Histogram) {
        for i in 0..<Self.bucketCount { counts[i] &+= other.counts[i] }
        total &+= other.total
        sum &+= other.sum
        if other.max > max { max = other.max }
    }

    /// Value at quantile q (0...1): the upper bound of the bucket holding it, capped at max.
    func percentile(_ q: Double) -> UInt64 {
        guard total > 0 else { return 0 }
        var rank = UInt64((q * Double(total)).rounded(.up))
        if rank < 1 { rank = 1 }
        var seen: UInt64 = 0
        for i in 0..<Self.bucketCount {
            seen &+= counts[i]
            if seen >= rank { return Swift.min(Self.upperBound(i), max) }
        }
        return max
    }

    var mean: Double { total == 0 ? 0 : Double(sum) / Double(total) }
}
