@testable import FlareCluster
@testable import FlareTools
import XCTest

final class HashingTests: XCTestCase {
    /// Test vectors from docs/original-behaviour.md, "Key hashing and partition resolver".
    func testKeyHashVectors() {
        let vectors: [([UInt8], Int32, Int32, Int32)] = [
            (Array("key0".utf8), 377, 1532712134, 1074374777),
            (Array("foo".utf8), 324, 1938594527, 1711779943),
            (Array("hello world".utf8), 1116, 222957957, 355681275),
            (Array("flare".utf8), 522, 932965633, 481262367),
            (Array("user:12345".utf8), 760, 1896767405, 396099604),
            ([0xE3, 0x81, 0x82], 282, 1976302829, 545468882),
        ]
        for (key, simple, crc32, jenkins) in vectors {
            XCTAssertEqual(KeyHashAlgorithm.simple.hash(key), simple)
            XCTAssertEqual(KeyHashAlgorithm.crc32.hash(key), crc32)
            XCTAssertEqual(KeyHashAlgorithm.jenkins.hash(key), jenkins)
        }
    }

    func testJenkinsOnKeysLongerThanOneBlock() {
        // 12-byte and 13-byte keys exercise the block loop and the tail.
        XCTAssertNotEqual(KeyHashAlgorithm.jenkins.hash(Array("abcdefghijkl".utf8)), KeyHashAlgorithm.jenkins.hash(Array("abcdefghijklm".utf8)))
        XCTAssertEqual([UInt8]().withUnsafeBytes { JenkinsLookup3.hashLittle($0, initialValue: 0) }, 0xDEAD_BEEF)
    }

    func testResolverTablesOfTheSpecExample() {
        XCTAssertEqual(try FixedCountResolver(partitionCount: 2, hint: 1, virtualBuckets: 12).buckets, [1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0])
        XCTAssertEqual(try FixedCountResolver(partitionCount: 3, hint: 1, virtualBuckets: 12).buckets, [1, 0, 2, 2, 1, 0, 1, 0, 2, 2, 1, 0])
        XCTAssertEqual(try FixedCountResolver(partitionCount: 4, hint: 1, virtualBuckets: 12).buckets, [1, 0, 2, 2, 1, 0, 3, 3, 3, 2, 1, 0])
        XCTAssertEqual(try FixedCountResolver(partitionCount: 3, hint: 2, virtualBuckets: 12).buckets, [0, 1, 2, 2, 0, 1, 0, 1, 2, 2, 0, 1])
    }

    func testResolverVectors() throws {
        let partitions: (KeyHashAlgorithm, String) throws -> [Int] = { algorithm, key in
            try (1...5).map { try FixedCountResolver(partitionCount: $0).partition(ofHash: algorithm.hash(Array(key.utf8))) }
        }
        XCTAssertEqual(try partitions(.simple, "flare"), [0, 1, 1, 3, 3])
        XCTAssertEqual(try partitions(.crc32, "user:12345"), [0, 0, 0, 0, 4])
        XCTAssertEqual(try partitions(.crc32, "key0"), [0, 1, 1, 1, 1])
        let counts = Dictionary(grouping: try FixedCountResolver(partitionCount: 4).buckets, by: { $0 }).mapValues(\.count)
        XCTAssertEqual(counts, [0: 1024, 1: 1024, 2: 1025, 3: 1023])
        XCTAssertEqual(try FixedCountResolver(partitionCount: 2).partition(ofHash: Int32.min), 1)
    }

    func testMD5NamesTheTestKeysLikeTheOriginal() {
        XCTAssertEqual(MD5.hex(""), "d41d8cd98f00b204e9800998ecf8427e")
        XCTAssertEqual(MD5.hex("1"), "c4ca4238a0b923820dcc509a6f75849b")
        XCTAssertEqual(MD5.hex(String(repeating: "a", count: 100)), "36a92cc94a9e0fa21f625f8bfb007adf")
    }
}
