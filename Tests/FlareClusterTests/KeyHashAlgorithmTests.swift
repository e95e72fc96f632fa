import XCTest
@testable import FlareCluster

/// Test vectors of docs/original-behaviour.md, "Key hashing and partition resolver" (values after the sign fix-up).
final class KeyHashAlgorithmTests: XCTestCase {
    private struct Vector {
        let key: [UInt8]
        let simple: Int32
        let crc32: Int32
        let jenkins: Int32
        let murmur: Int32
    }

    private let vectors: [Vector] = [
        Vector(key: Array("key0".utf8), simple: 377, crc32: 1_532_712_134, jenkins: 1_074_374_777, murmur: 1_429_399_788),
        Vector(key: Array("foo".utf8), simple: 324, crc32: 1_938_594_527, jenkins: 1_711_779_943, murmur: 991_939_697),
        Vector(key: Array("hello world".utf8), simple: 1116, crc32: 222_957_957, jenkins: 355_681_275, murmur: 1_578_702_139),
        Vector(key: Array("flare".utf8), simple: 522, crc32: 932_965_633, jenkins: 481_262_367, murmur: 447_677_804),
        Vector(key: Array("user:12345".utf8), simple: 760, crc32: 1_896_767_405, jenkins: 396_099_604, murmur: 616_054_720),
        Vector(key: [0xE3, 0x81, 0x82], simple: 282, crc32: 1_976_302_829, jenkins: 545_468_882, murmur: 2_022_491_807),
    ]

    func testSpecVectors() {
        for vector in vectors {
            let label = "key \(vector.key)"
            XCTAssertEqual(KeyHashAlgorithm.simple.hash(vector.key), vector.simple, label)
            XCTAssertEqual(KeyHashAlgorithm.crc32.hash(vector.key), vector.crc32, label)
            XCTAssertEqual(KeyHashAlgorithm.jenkins.hash(vector.key), vector.jenkins, label)
            XCTAssertEqual(KeyHashAlgorithm.murmur.hash(vector.key), vector.murmur, label)
        }
    }

    func testBitshiftAndAdler32Vectors() {
        XCTAssertEqual(KeyHashAlgorithm.bitshift.hash("key0"), 1_279_122_654)
        XCTAssertEqual(KeyHashAlgorithm.adler32.hash("key0"), 67_174_778)
    }

    func testSimpleTakesBytesAsSignedChars() {
        // 0xE3 0x81 0x82 as signed chars: −29 −127 −126 = −282, negated to 282.
        let raw = [UInt8]([0xE3, 0x81, 0x82]).withUnsafeBytes { ByteSumHash.simple($0) }
        XCTAssertEqual(raw, UInt32(bitPattern: -282))
        XCTAssertEqual(KeyHashAlgorithm.simple.hash([0xFF]), 1)
    }

    func testStringAndByteOverloadsAgree() {
        for algorithm in KeyHashAlgorithm.allCases {
            let key = "user:12345"
            let viaPointer = Array(key.utf8).withUnsafeBytes { algorithm.hash($0) }
            XCTAssertEqual(algorithm.hash(key), viaPointer, "\(algorithm)")
            XCTAssertEqual(algorithm.hash(Array(key.utf8)), viaPointer, "\(algorithm)")
        }
    }

    func testStandardChecksumsOfKnownInputs() {
        // Well-known zlib values, raw (before the sign fix-up).
        let text = Array("123456789".utf8)
        text.withUnsafeBytes { bytes in
            XCTAssertEqual(CRC32.checksum(bytes), 0xCBF4_3926)
            XCTAssertEqual(Adler32.checksum(bytes), 0x091E_01DE)
        }
        XCTAssertEqual(CRC32.checksum(UnsafeRawBufferPointer(start: nil, count: 0)), 0)
        XCTAssertEqual(Adler32.checksum(UnsafeRawBufferPointer(start: nil, count: 0)), 1)
    }

    func testAdler32ReducesLongInputs() {
        // Long enough to need several reductions; reference computed the slow way.
        let long = [UInt8](repeating: 0xFF, count: 20_000)
        var a: UInt64 = 1, b: UInt64 = 0
        for byte in long { a = (a + UInt64(byte)) % 65_521; b = (b + a) % 65_521 }
        XCTAssertEqual(long.withUnsafeBytes { Adler32.checksum($0) }, UInt32(b << 16 | a))
    }

    func testJenkinsBlockBoundaries() {
        // lookup3 reference values of hashlittle("", 0) and the classic "Four score…" vector.
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        XCTAssertEqual(JenkinsLookup3.hashLittle(empty, initialValue: 0), 0xDEAD_BEEF)
        let fourScore = Array("Four score and seven years ago".utf8)
        XCTAssertEqual(fourScore.withUnsafeBytes { JenkinsLookup3.hashLittle($0, initialValue: 0) }, 0x1777_0551)
        XCTAssertEqual(fourScore.withUnsafeBytes { JenkinsLookup3.hashLittle($0, initialValue: 1) }, 0xCD62_8161)
    }

    func testSignFixUp() {
        XCTAssertEqual(KeyHashAlgorithm.signFixed(0x8000_0000), Int32.min, "−2³¹ stays −2³¹")
        XCTAssertEqual(KeyHashAlgorithm.signFixed(0xFFFF_FFFF), 1)
        XCTAssertEqual(KeyHashAlgorithm.signFixed(0x7FFF_FFFF), Int32.max)
    }

    func testStaticMurmurIsTheRawValue() {
        let key = Array("key0".utf8)
        let raw = key.withUnsafeBytes { KeyHashAlgorithm.murmur($0) }
        XCTAssertEqual(KeyHashAlgorithm.signFixed(raw), KeyHashAlgorithm.murmur.hash(key))
    }

    func testPartitioningChoices() {
        XCTAssertEqual(KeyHashAlgorithm.allCases.filter(\.isUsableForPartitioning), [.simple, .crc32, .jenkins])
        XCTAssertEqual(KeyHashAlgorithm(rawValue: "crc32"), .crc32)
        XCTAssertNil(KeyHashAlgorithm(rawValue: "CRC32"))
    }
}
