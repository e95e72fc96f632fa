/// flare's "modular" partition resolver (docs/original-behaviour.md, "Key hashing and partition resolver").
///
/// The original precomputes `map[n][j]` for every partition count n = 1 … P−1 and bucket
/// j = 0 … V−1 (4 M ints = 16 MB with the defaults, 256 MB with V = 65536). Because row n
/// differs from row n−1 only in buckets that move *into* the new partition n−1, this type
/// stores just those moves: for every bucket, the ascending list of counts n at which it
/// moved. `map[n][j]` is then "n'−1 for the last move n' ≤ n, else j mod H". Moves stop once
/// partitions get small (see below), so the defaults store 14,610 moves (≈75 KB with the
/// per-bucket offsets) and a lookup is a binary search over a handful of them. Building still walks all rows once, O(P·V) time, O(P+V) scratch.
///
/// The spread is only fair while partitions hold many more than n buckets (n ≲ √V): a
/// partition gives up its buckets of rank n−1, 2n−1, …, so once partitions shrink below n−1
/// buckets a new partition receives nothing (with V = 4096 the 100th partition stays empty).
/// That is the original's table and must be reproduced, not fixed.
public struct ModularResolver: Sendable, Equatable {
    /// The value returned for partition counts the table has no row for.
    public static let noPartition = -1

    /// P: the maximum number of partitions (the table has rows 1 … P−1).
    public let partitionSize: Int
    /// H: up to this many partitions buckets are spread as plain `bucket mod n`.
    public let hint: Int
    /// V: the number of buckets a hash is reduced to.
    public let virtual: Int

    /// Bucket j's moves are `moveCounts[moveStart[j] ..< moveStart[j + 1]]`, ascending.
    private let moveStart: [Int32]
    private let moveCounts: [Int32]

    /// Builds the table; throws for parameters the original could not have worked with.
    ///
    /// Defaults are the index's (`partition-size` 1024, `partition-modular-hint` 1,
    /// `partition-modular-virtual` 4096).
    public init(partitionSize: Int = 1024, hint: Int = 1, virtual: Int = 4096) throws(ModularResolverError) {
        let intMax = Int(Int32.max)
        guard (2...intMax).contains(partitionSize) else { throw .invalidPartitionSize(partitionSize) }
        guard (1...intMax).contains(hint) else { throw .invalidHint(hint) }
        guard (1...intMax).contains(virtual) else { throw .invalidVirtual(virtual) }
        self.partitionSize = partitionSize
        self.hint = hint
        self.virtual = virtual
        (moveStart, moveCounts) = Self.buildMoves(partitionSize: partitionSize, hint: hint, virtual: virtual)
    }

    /// Number of stored moves; exposed so the memory claim above can be measured.
    public var storedMoveCount: Int { moveCounts.count }

    /// Whether `count` partitions can be resolved (1 ≤ count < P).
    @inline(__always)
    public func canResolve(count: Int) -> Bool {
        count >= 1 && count < partitionSize
    }

    /// `map[count][hash mod V]`: the partition of a key with this (sign-fixed) hash.
    ///
    /// Returns `noPartition` when `count` has no row (0, negative, or ≥ P): the original
    /// read outside its table there, and a count can arrive from the wire (`dump`).
    @inline(__always)
    public func partition(forHash hash: Int32, count: Int) -> Int {
        guard canResolve(count: count) else { return Self.noPartition }
        return partition(inBucket: bucket(forHash: hash), count: count)
    }

    /// Hashes the key with `algorithm` and resolves it for `count` partitions.
    @inline(__always)
    public func partition(for key: UnsafeRawBufferPointer, algorithm: KeyHashAlgorithm, count: Int) -> Int {
        partition(forHash: algorithm.hash(key), count: count)
    }

    /// The bucket of a hash: C's truncating `hash % V`.
    ///
    /// Only hash −2³¹ can be negative here; with a power-of-two V its remainder is 0 as in the
    /// original. With any other V the original indexed before its table (undefined); this
    /// wraps the remainder into 0 … V−1 so every node of this implementation agrees.
    @inline(__always)
    public func bucket(forHash hash: Int32) -> Int {
        let remainder = Int(hash) % virtual
        return remainder < 0 ? remainder + virtual : remainder
    }

    /// `map[count][bucket]` for a bucket in 0 … V−1 and a count in 1 … P−1.
    @inline(__always)
    func partition(inBucket bucket: Int, count: Int) -> Int {
        if count <= hint { return bucket % count }
        return moveStart.withUnsafeBufferPointer { starts in
            moveCounts.withUnsafeBufferPointer { counts in
                // Last move at or below `count`: binary search for the first move above it.
                var low = Int(starts[bucket])
                var high = Int(starts[bucket + 1])
                while low < high {
                    let middle = (low + high) / 2
                    if Int(counts[middle]) <= count { low = middle + 1 } else { high = middle }
                }
                let firstStored = Int(starts[bucket])
                return low > firstStored ? Int(counts[low - 1]) - 1 : bucket % hint
            }
        }
    }

    /// The whole row `map[count][0 ..< V]`, e.g. to cache the row of the current partition
    /// count or to inspect the spread. Empty when `count` has no row.
    public func row(count: Int) -> [Int] {
        guard canResolve(count: count) else { return [] }
        return (0..<virtual).map { partition(inBucket: $0, count: count) }
    }

    /// Runs the original's construction row by row, recording which buckets each row moves.
    private static func buildMoves(partitionSize: Int, hint: Int, virtual: Int) -> (start: [Int32], counts: [Int32]) {
        let lastCount = partitionSize - 1
        guard lastCount > hint else {
            // Every row is plain `j mod n`: nothing ever moves.
            return ([Int32](repeating: 0, count: virtual + 1), [])
        }

        var movedBucket: [Int32] = []
        var movedAtCount: [Int32] = []
        var row = (0..<virtual).map { Int32($0 % hint) }
        // untilMove[k]: how many more of partition k's buckets (in bucket order) to pass before
        // the next one moves. The original's test `counter[k] mod n == n−1` moves ranks
        // n−1, 2n−1, …; counting down from n−1 and re-arming with n is the same thing.
        var untilMove = [Int](repeating: 0, count: partitionSize)
        row.withUnsafeMutableBufferPointer { row in
            untilMove.withUnsafeMutableBufferPointer { untilMove in
                for count in (hint + 1)...lastCount {
                    let newPartition = Int32(count - 1)
                    for k in 0..<(count - 1) { untilMove[k] = count - 1 }
                    for j in 0..<virtual {
                        let k = Int(row[j])
                        untilMove[k] -= 1
                        if untilMove[k] == 0 {
                            untilMove[k] = count
                            row[j] = newPartition
                            movedBucket.append(Int32(j))
                            movedAtCount.append(Int32(count))
                        }
                    }
                }
            }
        }

        // Counting sort by bucket; stable, so each bucket's counts stay ascending.
        var start = [Int32](repeating: 0, count: virtual + 1)
        for bucket in movedBucket { start[Int(bucket) + 1] += 1 }
        for j in 0..<virtual { start[j + 1] += start[j] }
        var next = start
        var counts = [Int32](repeating: 0, count: movedBucket.count)
        for (bucket, count) in zip(movedBucket, movedAtCount) {
            counts[Int(next[Int(bucket)])] = count
            next[Int(bucket)] += 1
        }
        return (start, counts)
    }
}
