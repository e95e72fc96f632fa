import XCTest
@testable import FlareConfig

final class DefaultsTests: XCTestCase {
    func testNodeDefaults() throws {
        let settings = try parseNode(nodeBasics)
        XCTAssertEqual(settings.backLog, 1024)
        XCTAssertFalse(settings.daemonize)
        XCTAssertEqual(settings.indexServers, [IndexServerAddress(name: "index.example", port: 12120)])
        XCTAssertEqual(settings.logFacility, "")
        XCTAssertEqual(settings.maxConnection, 128)
        XCTAssertEqual(settings.mutexSlot, 64)
        XCTAssertEqual(settings.noreplyWindowLimit, 0)
        XCTAssertEqual(settings.netReadTimeout, 600)
        XCTAssertEqual(settings.proxyConcurrency, 2)
        XCTAssertEqual(settings.masterLease, 1000)
        XCTAssertEqual(settings.reconstructionInterval, 0)
        XCTAssertEqual(settings.reconstructionBwlimit, 0)
        XCTAssertEqual(settings.replicationType, .async)
        XCTAssertEqual(settings.serverName, HostName.current())
        XCTAssertEqual(settings.serverPort, 12121)
        XCTAssertNil(settings.serverSocket)
        XCTAssertEqual(settings.stackSize, 128)
        XCTAssertEqual(settings.storageType, "tch")
        XCTAssertEqual(settings.storageAp, 4)
        XCTAssertEqual(settings.storageFp, 10)
        XCTAssertEqual(settings.storageBucketSize, 131_071)
        XCTAssertEqual(settings.storageCacheSize, 65536)
        XCTAssertEqual(settings.storageCompress, "")
        XCTAssertFalse(settings.storageLarge)
        XCTAssertEqual(settings.storageLmemb, 128)
        XCTAssertEqual(settings.storageNmemb, 256)
        XCTAssertEqual(settings.storageDfunit, 0)
        XCTAssertEqual(settings.threadPoolSize, 5)
        XCTAssertEqual(settings.proxyPriorNetmask, 0)
        XCTAssertEqual(settings.maxTotalThreadQueue, 0)
        XCTAssertFalse(settings.timeWatcherEnabled)
        XCTAssertEqual(settings.timeWatcherPollingIntervalMsec, 0)
        XCTAssertEqual(settings.storageAccessWatchThresholdWarnMsec, 0)
        XCTAssertEqual(settings.storageAccessWatchThresholdPingNgMsec, 0)
        XCTAssertFalse(settings.clusterReplication)
        XCTAssertEqual(settings.clusterReplicationServerName, "")
        XCTAssertEqual(settings.clusterReplicationServerPort, 12121)
        XCTAssertEqual(settings.clusterReplicationConcurrency, 2)
        XCTAssertEqual(settings.clusterReplicationMode, .duplicate)
        XCTAssertFalse(settings.mysqlReplication)
        XCTAssertEqual(settings.mysqlReplicationPort, 12122)
        XCTAssertEqual(settings.mysqlReplicationId, 19_790_217)
        XCTAssertEqual(settings.mysqlReplicationDb, "flare")
        XCTAssertEqual(settings.mysqlReplicationTable, "flare")
        XCTAssertEqual(settings.storageMemoryLimit, 64)
        XCTAssertEqual(settings.maxKeyLength, 8191)
        XCTAssertEqual(settings.maxValueSize, 67_108_864)
        XCTAssertNil(settings.serverAddress, "unset: the daemon listens on the addresses of server-name")
        XCTAssertEqual(settings.logLevel, .info)
    }

    func testClusterReplicationConcurrencyFollowsProxyConcurrency() throws {
        XCTAssertEqual(try parseNode(nodeBasics + ["--proxy-concurrency", "7"]).clusterReplicationConcurrency, 7)
        let explicit = try parseNode(nodeBasics + ["--proxy-concurrency", "7", "--cluster-replication-concurrency", "3"])
        XCTAssertEqual(explicit.clusterReplicationConcurrency, 3)
    }

    func testIndexDefaults() throws {
        let settings = try parseIndex(["--data-dir", "/srv/index"])
        XCTAssertFalse(settings.daemonize)
        XCTAssertEqual(settings.indexDB, .file(directory: "/srv/index"))
        XCTAssertEqual(settings.logFacility, "")
        XCTAssertEqual(settings.maxConnection, 128)
        XCTAssertEqual(settings.monitorThreshold, 3)
        XCTAssertEqual(settings.monitorInterval, 5)
        XCTAssertEqual(settings.monitorReadTimeout, 1000)
        XCTAssertEqual(settings.netReadTimeout, 600_000)
        XCTAssertEqual(settings.partitionSize, 1024)
        XCTAssertEqual(settings.partitionType, .modular)
        XCTAssertEqual(settings.partitionModularHint, 1)
        XCTAssertEqual(settings.partitionModularVirtual, 4096)
        XCTAssertEqual(settings.keyHashAlgorithm, .simple)
        XCTAssertEqual(settings.serverName, HostName.current())
        XCTAssertEqual(settings.serverPort, 12120)
        XCTAssertNil(settings.serverSocket)
        XCTAssertEqual(settings.stackSize, 128)
        XCTAssertEqual(settings.threadPoolSize, 5)
        XCTAssertNil(settings.serverAddress, "unset: the daemon listens on the addresses of server-name")
        XCTAssertEqual(settings.logLevel, .info)
    }

    func testIndexDatabaseForms() throws {
        let zookeeper = try parseIndex(["--data-dir", "/tmp", "--index-db", "zookeeper://zk1:2181,zk2:2181/flare/cluster"])
        XCTAssertEqual(zookeeper.indexDB, .zookeeper(servers: "zk1:2181,zk2:2181", path: "/flare/cluster"))
        XCTAssertEqual(zookeeper.indexDB.description, "zookeeper://zk1:2181,zk2:2181/flare/cluster")
        let file = try parseIndex(["--data-dir", "/tmp", "--index-db", "file:///var/lib/flare"])
        XCTAssertEqual(file.indexDB, .file(directory: "/var/lib/flare"))
    }

    func testHostNameIsTheKernelsHostName() throws {
        let kernel = try String(contentsOfFile: "/proc/sys/kernel/hostname", encoding: .utf8)
        XCTAssertEqual(HostName.current(), kernel.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Every default in the schema must pass its own key's checks, otherwise
    /// resolving an unset key would stop the daemon.
    func testSchemaDefaultsAreValid() {
        func check<Key: SettingKey>(_ keys: Key.Type) {
            for key in Key.allCases {
                if case let .value(text) = key.spec.defaultValue {
                    XCTAssertNotNil(key.spec.kind.interpret(text), "default of \(key.name)")
                }
            }
        }
        check(NodeKey.self)
        check(IndexKey.self)
    }
}
