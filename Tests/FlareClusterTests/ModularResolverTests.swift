import XCTest
@testable import FlareCluster

/// docs/original-behaviour.md, "Key hashing and partition resolver": the modular table, its examples and its test
/// vectors.
final class ModularResolverTests: XCTestCase {
    /// The index's defaults, built once for the whole class (building walks 4 M cells).
    private static let defaults = try! ModularResolver()

    /// The original's resolver pseudo-code, transcribed literally, as the reference for the compact table.
    private func referenceTable(partitionSize: Int, hint: Int, virtual: Int) -> [[Int]] {
        var map = [[Int]](repeating: [], count: partitionSize)
        for n in 1..<partitionSize {
            var counter = [Int](repeating: 0, count: partitionSize)
            map[n] = [Int](repeating: 0, count: virtual)
            for j in 0..<virtual {
                if n <= hint {
                    map[n][j] = j % n
                } else {
                    let k = map[n - 1][j]
                    counter[k] += 1
                    map[n][j] = counter[k] % n == n - 1 ? n - 1 : k
                }
            }
        }
        return map
    }

    func testSpecExampleRowsWithHintOne() throws {
        let resolver = try ModularResolver(partitionSize: 8, hint: 1, virtual: 12)
        XCTAssertEqual(resolver.row(count: 1), [Int](repeating: 0, count: 12))
        XCTAssertEqual(resolver.row(count: 2), [1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0])
        XCTAssertEqual(resolver.row(count: 3), [1, 0, 2, 2, 1, 0, 1, 0, 2, 2, 1, 0])
        XCTAssertEqual(resolver.row(count: 4), [1, 0, 2, 2, 1, 0, 3, 3, 3, 2, 1, 0])
    }

    func testSpecExampleRowsWithHintTwo() throws {
        let resolver = try ModularResolver(partitionSize: 8, hint: 2, virtual: 12)
        XCTAssertEqual(resolver.row(count: 2), [0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1])
        XCTAssertEqual(resolver.row(count: 3), [0, 1, 2, 2, 0, 1, 0, 1, 2, 2, 0, 1])
    }

    func testCompactTableMatchesTheLiteralAlgorithm() throws {
        for (partitionSize, hint, virtual) in [(40, 1, 4096), (40, 2, 1000), (40, 5, 257), (12, 20, 64), (70, 3, 12)] {
            let resolver = try ModularResolver(partitionSize: partitionSize, hint: hint, virtual: virtual)
            let reference = referenceTable(partitionSize: partitionSize, hint: hint, virtual: virtual)
            for n in 1..<partitionSize {
                XCTAssertEqual(resolver.row(count: n), reference[n], "P=\(partitionSize) H=\(hint) V=\(virtual) n=\(n)")
            }
        }
    }

    func testBucketCountsOfTheDefaultTable() {
        XCTAssertEqual(bucketCounts(Self.defaults, 2), [2048, 2048])
        XCTAssertEqual(bucketCounts(Self.defaults, 3), [1365, 1365, 1366])
        XCTAssertEqual(bucketCounts(Self.defaults, 4), [1024, 1024, 1025, 1023])
    }

    func testSpecResolverVectors() {
        let resolver = Self.defaults
        func partitions(_ key: String, _ algorithm: KeyHashAlgorithm) -> [Int] {
            (1...5).map { n in Array(key.utf8).withUnsafeBytes { resolver.partition(for: $0, algorithm: algorithm, count: n) } }
        }
        XCTAssertEqual(partitions("flare", .simple), [0, 1, 1, 3, 3])
        XCTAssertEqual(partitions("user:12345", .crc32), [0, 0, 0, 0, 4])
        XCTAssertEqual(partitions("key0", .crc32), [0, 1, 1, 1, 1])
        XCTAssertEqual(resolver.bucket(forHash: KeyHashAlgorithm.crc32.hash("user:12345")), 4013)
        XCTAssertEqual(resolver.bucket(forHash: KeyHashAlgorithm.crc32.hash("key0")), 1222)
    }

    func testGrowingOnlyMovesKeysIntoTheNewPartition() {
        let resolver = Self.defaults
        var previous = resolver.row(count: 1)
        for n in 2...40 {
            let row = resolver.row(count: n)
            var moved = 0
            for j in row.indices where row[j] != previous[j] {
                XCTAssertEqual(row[j], n - 1, "bucket \(j) moved between old partitions at n=\(n)")
                moved += 1
            }
            // About 1/n of the buckets move (each old partition gives up ⌊size/n⌋ or so).
            XCTAssertEqual(Double(moved), Double(resolver.virtual) / Double(n), accuracy: Double(n), "n=\(n)")
            previous = row
        }
    }

    private func bucketCounts(_ resolver: ModularResolver, _ n: Int) -> [Int] {
        var counts = [Int](repeating: 0, count: n)
        for partition in resolver.row(count: n) { counts[partition] += 1 }
        return counts
    }

    func testRowsAreFairWhilePartitionsHoldManyBuckets() {
        // A partition only gives up buckets at ranks n−1, 2n−1, …, so the spread stays fair
        // while partitions hold well over n buckets (n ≲ √V); ±20 % holds up to n = 32 for V = 4096.
        for n in 2...32 {
            let counts = bucketCounts(Self.defaults, n)
            let mean = 4096.0 / Double(n)
            XCTAssertLessThanOrEqual(Double(counts.max()!), mean * 1.2, "n=\(n) \(counts)")
            XCTAssertGreaterThanOrEqual(Double(counts.min()!), mean * 0.8, "n=\(n) \(counts)")
        }
    }

    func testLargeCountsStarveNewPartitionsAsInTheOriginal() {
        // Once every old partition holds fewer than n−1 buckets nothing moves any more: with
        // V = 4096 a 100th partition receives no bucket at all. This is the original's table;
        // a cluster wanting many partitions needs a larger partition-modular-virtual.
        let counts = bucketCounts(Self.defaults, 100)
        XCTAssertEqual(counts[99], 0)
        XCTAssertEqual(counts.reduce(0, +), 4096)
    }

    func testCountsWithoutARowResolveToNoPartition() {
        let resolver = Self.defaults
        for count in [0, -1, 1024, 100_000] {
            XCTAssertFalse(resolver.canResolve(count: count))
            XCTAssertEqual(resolver.partition(forHash: 522, count: count), ModularResolver.noPartition, "count \(count)")
            XCTAssertEqual(resolver.row(count: count), [])
        }
        XCTAssertTrue(resolver.canResolve(count: 1023))
        XCTAssertEqual(resolver.partition(forHash: 12345, count: 1), 0)
    }

    func testMostNegativeHashLandsInBucketZeroForPowerOfTwoVirtual() throws {
        let resolver = Self.defaults
        XCTAssertEqual(resolver.bucket(forHash: Int32.min), 0)
        XCTAssertEqual(resolver.partition(forHash: Int32.min, count: 2), resolver.row(count: 2)[0])
        // With another V the original read before its table; here the bucket wraps into range.
        let odd = try ModularResolver(partitionSize: 8, hint: 1, virtual: 12)
        XCTAssertEqual(odd.bucket(forHash: Int32.min), 12 - 8)
    }

    func testInvalidParametersAreRejected() {
        XCTAssertThrowsError(try ModularResolver(partitionSize: 1024, hint: 0, virtual: 4096)) { error in
            XCTAssertEqual(error as? ModularResolverError, .invalidHint(0))
            XCTAssertEqual("\(error)", "partition-modular-hint 0 is invalid: it must be between 1 and 2147483647")
        }
        XCTAssertThrowsError(try ModularResolver(partitionSize: 1, hint: 1, virtual: 4096)) { error in
            XCTAssertEqual(error as? ModularResolverError, .invalidPartitionSize(1))
        }
        XCTAssertThrowsError(try ModularResolver(partitionSize: 1024, hint: 1, virtual: 0)) { error in
            XCTAssertEqual(error as? ModularResolverError, .invalidVirtual(0))
        }
    }

    func testCompactStorageStaysSmall() throws {
        // The full table has 1023 × 4096 cells; only buckets changing partition are stored.
        XCTAssertEqual(Self.defaults.storedMoveCount, 14_610)
    }
}
