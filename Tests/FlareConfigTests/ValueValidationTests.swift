import XCTest
@testable import FlareConfig

/// Every way a value can be wrong, with the exact message an operator sees.
final class ValueValidationTests: XCTestCase {
    private var fixtures: ConfigFixtures!

    override func setUpWithError() throws {
        fixtures = try ConfigFixtures()
    }

    /// The message for a flared.conf whose line 3 is `line`.
    private func nodeFileError(_ line: String) throws -> (path: String, message: String?) {
        let path = try fixtures.file(named: "flared.conf", "data-dir = /tmp\nindex-server-name = idx\n\(line)\n")
        return (path, nodeError(["-f", path]))
    }

    private func indexFileError(_ line: String) throws -> (path: String, message: String?) {
        let path = try fixtures.file(named: "flarei.conf", "data-dir = /tmp\n\(line)\n")
        return (path, indexError(["-f", path]))
    }

    func testNonNumericInteger() throws {
        let (path, message) = try nodeFileError("server-port = abc")
        XCTAssertEqual(message, "\(path):3: 'server-port' must be an integer from 1 to 65535, got 'abc'")
    }

    func testIntegerWithTrailingGarbage() throws {
        let (path, message) = try nodeFileError("max-connection = 12k")
        XCTAssertEqual(message, "\(path):3: 'max-connection' must be an integer from 1 to 2147483647, got '12k'")
    }

    func testEmptyInteger() throws {
        let (path, message) = try nodeFileError("back-log =")
        XCTAssertEqual(message, "\(path):3: 'back-log' must be an integer from 1 to 2147483647, got ''")
    }

    func testPortOutOfRange() throws {
        let (path, message) = try nodeFileError("server-port = 65536")
        XCTAssertEqual(message, "\(path):3: 'server-port' must be an integer from 1 to 65535, got '65536'")
        let (_, zero) = try nodeFileError("index-server-port = 0")
        XCTAssertEqual(zero, "\(path):3: 'index-server-port' must be an integer from 1 to 65535, got '0'")
    }

    func testIntegerTooLargeForAnyType() throws {
        let (path, message) = try nodeFileError("storage-bucket-size = 99999999999999999999")
        XCTAssertEqual(message,
                       "\(path):3: 'storage-bucket-size' must be an integer from 0 to 9223372036854775807, got '99999999999999999999'")
    }

    func testThreadCountsMustBePositive() throws {
        let (path, pool) = try nodeFileError("thread-pool-size = 0")
        XCTAssertEqual(pool, "\(path):3: 'thread-pool-size' must be an integer from 1 to 2147483647, got '0'")
        let (_, proxy) = try nodeFileError("proxy-concurrency = 0")
        XCTAssertEqual(proxy, "\(path):3: 'proxy-concurrency' must be an integer from 1 to 2147483647, got '0'")
        let (_, negative) = try nodeFileError("cluster-replication-concurrency = -2")
        XCTAssertEqual(negative, "\(path):3: 'cluster-replication-concurrency' must be an integer from 1 to 2147483647, got '-2'")
    }

    /// `master-lease`: milliseconds, 0 turns the lease off, at most ten minutes.
    func testMasterLeaseRange() throws {
        XCTAssertEqual(try parseNode(nodeBasics + ["--master-lease", "0"]).masterLease, 0)
        XCTAssertEqual(try parseNode(nodeBasics + ["--master-lease", "1500"]).masterLease, 1500)
        let (path, negative) = try nodeFileError("master-lease = -1")
        XCTAssertEqual(negative, "\(path):3: 'master-lease' must be an integer from 0 to 600000, got '-1'")
        let (_, large) = try nodeFileError("master-lease = 600001")
        XCTAssertEqual(large, "\(path):3: 'master-lease' must be an integer from 0 to 600000, got '600001'")
    }

    /// `replication-backlog`: bytes, 0 turns the backlog off.
    func testReplicationBacklogRange() throws {
        XCTAssertEqual(try parseNode(nodeBasics).replicationBacklog, 64 << 20)
        XCTAssertEqual(try parseNode(nodeBasics + ["--replication-backlog", "0"]).replicationBacklog, 0)
        XCTAssertEqual(try parseNode(nodeBasics + ["--replication-backlog", "1024"]).replicationBacklog, 1024)
        let (path, negative) = try nodeFileError("replication-backlog = -1")
        XCTAssertEqual(negative, "\(path):3: 'replication-backlog' must be an integer from 0 to 17179869184, got '-1'")
    }

    /// `tombstone-retention`: seconds, 0 = the in-memory delete cache only, at most 30 days.
    func testTombstoneRetentionRange() throws {
        XCTAssertEqual(try parseNode(nodeBasics).tombstoneRetention, 3600)
        XCTAssertEqual(try parseNode(nodeBasics + ["--tombstone-retention", "0"]).tombstoneRetention, 0)
        let (path, large) = try nodeFileError("tombstone-retention = 2592001")
        XCTAssertEqual(large, "\(path):3: 'tombstone-retention' must be an integer from 0 to 2592000, got '2592001'")
    }

    func testUnsignedKeysRejectNegativeValues() throws {
        let (path, message) = try nodeFileError("max-total-thread-queue = -1")
        XCTAssertEqual(message, "\(path):3: 'max-total-thread-queue' must be an integer from 0 to 4294967295, got '-1'")
    }

    func testNetmaskRange() throws {
        let (path, message) = try nodeFileError("proxy-prior-netmask = 33")
        XCTAssertEqual(message, "\(path):3: 'proxy-prior-netmask' must be an integer from 0 to 32, got '33'")
    }

    func testInvalidReplicationType() throws {
        let (path, message) = try nodeFileError("replication-type = semisync")
        XCTAssertEqual(message, "\(path):3: 'replication-type' must be one of async, sync, got 'semisync'")
    }

    func testChoicesAreCaseSensitive() throws {
        let (path, message) = try nodeFileError("replication-type = Async")
        XCTAssertEqual(message, "\(path):3: 'replication-type' must be one of async, sync, got 'Async'")
    }

    func testInvalidStorageType() throws {
        let (path, message) = try nodeFileError("storage-type = leveldb")
        XCTAssertEqual(message, "\(path):3: 'storage-type' must be one of tch, tcb, kch, memory, got 'leveldb'")
    }

    func testInvalidStorageCompress() throws {
        let (path, message) = try nodeFileError("storage-compress = zip")
        XCTAssertEqual(message, "\(path):3: 'storage-compress' must be one of '' (empty), deflate, bz2, tcbs, got 'zip'")
    }

    func testInvalidClusterReplicationMode() throws {
        let (path, message) = try nodeFileError("cluster-replication-mode = mirror")
        XCTAssertEqual(message, "\(path):3: 'cluster-replication-mode' must be one of duplicate, forward, got 'mirror'")
    }

    func testInvalidLogLevel() throws {
        let (path, message) = try nodeFileError("log-level = verbose")
        XCTAssertEqual(message,
                       "\(path):3: 'log-level' must be one of trace, debug, info, notice, warning, error, critical, got 'verbose'")
    }

    func testInvalidBoolean() throws {
        let (path, message) = try nodeFileError("time-watcher-enabled = enabled")
        XCTAssertEqual(message,
                       "\(path):3: 'time-watcher-enabled' must be a boolean (true/false, yes/no, on/off, 1/0), got 'enabled'")
    }

    func testInvalidSwitchValueInFile() throws {
        let (path, message) = try nodeFileError("daemonize =")
        XCTAssertEqual(message, "\(path):3: 'daemonize' must be a boolean (true/false, yes/no, on/off, 1/0), got ''")
    }

    func testBooleanSpellings() throws {
        for (text, expected) in [("true", true), ("YES", true), ("on", true), ("1", true),
                                 ("false", false), ("No", false), ("off", false), ("0", false)] {
            let path = try fixtures.file("""
                data-dir = /tmp
                index-server-name = idx
                daemonize = \(text)
                storage-large = \(text)
                mysql-replication = \(text)
                cluster-replication = \(text)
                time-watcher-enabled = \(text)
                """)
            let settings = try parseNode(["-f", path])
            XCTAssertEqual(settings.daemonize, expected, text)
            XCTAssertEqual(settings.storageLarge, expected, text)
            XCTAssertEqual(settings.mysqlReplication, expected, text)
            XCTAssertEqual(settings.clusterReplication, expected, text)
            XCTAssertEqual(settings.timeWatcherEnabled, expected, text)
        }
    }

    func testMalformedIndexServers() throws {
        let expected = "must be a list of name:port separated by commas (e.g. 'index1:12120,index2:12120')"
        for text in ["idx", "idx:", ":12120", "idx:abc", "idx:70000", "a:1,,b:2", "a:1,", "a b:1", "a:1:2"] {
            let (path, message) = try nodeFileError("index-servers = \(text)")
            // index-server-name of the fixture conflicts only once the list is valid.
            XCTAssertEqual(message, "\(path):3: 'index-servers' \(expected), got '\(text)'")
        }
    }

    func testInvalidIndexDatabase() throws {
        let expected = "must be 'file:///absolute/dir' or 'zookeeper://host:port[,host:port...]/path'"
        for text in ["/var/lib/flare", "file://relative", "zookeeper://zk1:2181", "zookeeper:///flare", "mysql://x/y"] {
            let (path, message) = try indexFileError("index-db = \(text)")
            XCTAssertEqual(message, "\(path):2: 'index-db' \(expected), got '\(text)'")
        }
    }

    func testInvalidKeyHashAlgorithm() throws {
        let (path, message) = try indexFileError("key-hash-algorithm = md5")
        XCTAssertEqual(message,
                       "\(path):2: 'key-hash-algorithm' must be one of simple, bitshift, crc32, adler32, murmur, jenkins, got 'md5'")
    }

    func testInvalidPartitionType() throws {
        let (path, message) = try indexFileError("partition-type = consistent")
        XCTAssertEqual(message, "\(path):2: 'partition-type' must be one of modular, got 'consistent'")
    }

    func testEmptyRequiredText() throws {
        let (path, message) = try indexFileError("server-name =")
        XCTAssertEqual(message, "\(path):2: 'server-name' must be a non-empty value, got ''")
    }

    func testCommandLineValueErrorsNameTheOption() {
        XCTAssertEqual(nodeError(nodeBasics + ["--server-port", "abc"]),
                       "command line: '--server-port' must be an integer from 1 to 65535, got 'abc'")
        XCTAssertEqual(indexError(["--data-dir", "/tmp", "--monitor-interval=0"]),
                       "command line: '--monitor-interval' must be an integer from 1 to 2147483647, got '0'")
    }

    func testBadFileValueIsReportedEvenWhenTheCommandLineOverridesIt() throws {
        let path = try fixtures.file("data-dir = /tmp\nindex-server-name = idx\nserver-port = abc\n")
        XCTAssertEqual(nodeError(["-f", path, "--server-port", "12121"]),
                       "\(path):3: 'server-port' must be an integer from 1 to 65535, got 'abc'")
    }

    func testAcceptedExtremes() throws {
        let path = try fixtures.file("""
            data-dir = /tmp
            index-servers = a:1, b:65535 ,c.example.com:12120
            server-port = 65535
            proxy-prior-netmask = 32
            mysql-replication-id = 4294967295
            storage-compress =
            storage-type = memory
            """)
        let settings = try parseNode(["-f", path])
        XCTAssertEqual(settings.indexServers.map(\.description), ["a:1", "b:65535", "c.example.com:12120"])
        XCTAssertEqual(settings.serverPort, 65535)
        XCTAssertEqual(settings.proxyPriorNetmask, 32)
        XCTAssertEqual(settings.mysqlReplicationId, 4_294_967_295)
        XCTAssertEqual(settings.storageCompress, "")
        XCTAssertEqual(settings.storageType, "memory")
    }
}
