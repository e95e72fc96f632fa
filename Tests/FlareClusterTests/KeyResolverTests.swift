import XCTest
@testable import FlareCluster

/// Placements observed on the original flare (docs/original-behaviour.md, "Recorded exchanges") and key spread.
final class KeyResolverTests: XCTestCase {
    private static let crc32 = try! KeyResolver(algorithm: .crc32)
    private static let simple = try! KeyResolver(algorithm: .simple)

    private func assertPlacement(
        _ resolver: KeyResolver, count: Int, _ expected: [[String]],
        file: StaticString = #filePath, line: UInt = #line
    ) {
        for (partition, keys) in expected.enumerated() {
            for key in keys {
                XCTAssertEqual(resolver.partition(of: key, count: count), partition,
                               "\(resolver.algorithm) key \(key)", file: file, line: line)
            }
        }
    }

    /// docs/original-behaviour.md, "Recorded exchanges", key-hash-algorithm = crc32, 3 partitions (hint 1, virtual
    /// 4096).
    func testTranscriptPlacementWithCRC32() {
        assertPlacement(Self.crc32, count: 3, [
            ["a", "flare", "foo", "key000000", "key4", "key5", "key7", "key10", "key11", "key12", "key13", "key18", "key25"],
            ["key0", "key1", "key3", "key8", "key14", "key16", "key17", "key20", "key21", "key22", "key28", "key29",
             String(repeating: "x", count: 40)],
            ["b", "bar", "c", "hello", "key000001", "key2", "key6", "key9", "key15", "key19", "key23", "key24", "key26", "key27"],
        ])
    }

    /// docs/original-behaviour.md, "Recorded exchanges", key-hash-algorithm = simple (the flarei default), 3
    /// partitions.
    func testTranscriptPlacementWithSimple() {
        assertPlacement(Self.simple, count: 3, [
            ["a", "key0", "key000000", "key2", "key6", "key8", "key11", "key15", "key17", "key20", "key24", "key26"],
            ["flare", "foo", "hello", "key000001", "key1", "key5", "key7", "key10", "key14", "key16", "key23", "key25", "key29"],
            ["b", "bar", "c", "key3", "key4", "key9", "key12", "key13", "key18", "key19", "key21", "key22", "key27", "key28",
             String(repeating: "x", count: 40)],
        ])
    }

    /// The recorded `dump 0 0 2` / `dump 0 1 2` (and `dump_key`; docs/original-behaviour.md, "Recorded exchanges"): the
    /// node belonged to the standalone index whose `meta` reports `key-hash-algorithm simple`.
    func testDumpFilterPlacementWithTwoPartitions() {
        assertPlacement(Self.simple, count: 2, [["a", "c"], ["b"]])
        // One partition takes everything (`dump 0 0 1`).
        assertPlacement(Self.simple, count: 1, [["a", "b", "c"]])
    }

    func testOverloadsAgree() {
        let key = "user:12345"
        let viaPointer = Array(key.utf8).withUnsafeBytes { Self.crc32.partition(of: $0, count: 5) }
        XCTAssertEqual(viaPointer, 4)
        XCTAssertEqual(Self.crc32.partition(of: key, count: 5), viaPointer)
        XCTAssertEqual(Self.crc32.partition(of: Array(key.utf8), count: 5), viaPointer)
        XCTAssertEqual(Self.crc32.partition(of: key, count: 0), ModularResolver.noPartition)
    }

    /// 100,000 keys over 2…8 partitions: every partition within ±20 % of the mean for the
    /// algorithms whose hashes are spread over all buckets (`simple` is a byte sum, so similar
    /// keys share few buckets and no fairness is implied).
    func testWellSpreadAlgorithmsShareKeysFairly() throws {
        let keys = (0..<100_000).map { Array("user:\($0)".utf8) }
        for algorithm in [KeyHashAlgorithm.crc32, .jenkins, .murmur] {
            let resolver = KeyResolver(algorithm: algorithm, modular: Self.crc32.modular)
            for count in 2...8 {
                var perPartition = [Int](repeating: 0, count: count)
                for key in keys { perPartition[resolver.partition(of: key, count: count)] += 1 }
                let mean = Double(keys.count) / Double(count)
                for (partition, keys) in perPartition.enumerated() {
                    XCTAssertEqual(Double(keys), mean, accuracy: mean * 0.2,
                                   "\(algorithm), \(count) partitions, partition \(partition): \(perPartition)")
                }
            }
        }
    }
}
