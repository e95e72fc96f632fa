import XCTest
@testable import FlareConfig

final class ReloadTests: XCTestCase {
    private let nodeFile = """
        data-dir = /srv/node
        index-servers = idx1:12120
        max-connection = 256
        server-port = 12121
        thread-pool-size = 16
        """

    func testReloadAppliesDynamicKeysOnly() throws {
        let fixtures = try ConfigFixtures()
        let path = try fixtures.file(nodeFile)
        let settings = try parseNode(["-f", path])
        try fixtures.rewrite(path, """
            data-dir = /srv/elsewhere
            index-servers = idx1:12120, idx2:12120
            max-connection = 512
            server-port = 13000
            thread-pool-size = 16
            replication-type = sync
            mutex-slot = 8
            cluster-replication = true
            log-level = debug
            """)

        let (reloaded, changes) = try settings.reloaded(from: path)

        XCTAssertEqual(changes.map(\.description), [
            "index-servers: idx1:12120 -> idx1:12120,idx2:12120",
            "max-connection: 256 -> 512",
            "replication-type: async -> sync",
            "cluster-replication: false -> true",
            "log-level: info -> debug",
        ])
        XCTAssertEqual(reloaded.maxConnection, 512)
        XCTAssertEqual(reloaded.replicationType, .sync)
        XCTAssertEqual(reloaded.indexServers.count, 2)
        XCTAssertTrue(reloaded.clusterReplication)
        XCTAssertEqual(reloaded.logLevel, .debug)
        // Static keys keep their start-up values until restart.
        XCTAssertEqual(reloaded.dataDir, "/srv/node")
        XCTAssertEqual(reloaded.serverPort, 12121)
        XCTAssertEqual(reloaded.mutexSlot, 64)
    }

    func testRemovingAKeyFromTheFileRestoresItsDefault() throws {
        let fixtures = try ConfigFixtures()
        let path = try fixtures.file(nodeFile)
        let settings = try parseNode(["-f", path])
        try fixtures.rewrite(path, "data-dir = /srv/node\nindex-servers = idx1:12120\n")
        let (reloaded, changes) = try settings.reloaded(from: path)
        XCTAssertEqual(changes.map(\.description), ["max-connection: 256 -> 128"])
        XCTAssertEqual(reloaded.maxConnection, 128)
        // The worker count is fixed at start-up.
        XCTAssertEqual(reloaded.threadPoolSize, 16)
    }

    func testUnchangedFileReportsNoChanges() throws {
        let fixtures = try ConfigFixtures()
        let path = try fixtures.file(nodeFile)
        let settings = try parseNode(["-f", path])
        let (reloaded, changes) = try settings.reloaded(from: path)
        XCTAssertEqual(changes, [])
        XCTAssertEqual(reloaded, settings)
    }

    func testCommandLineOverridesSurviveReload() throws {
        let fixtures = try ConfigFixtures()
        let path = try fixtures.file(nodeFile)
        let settings = try parseNode(["-f", path, "--max-connection", "64", "--net-read-timeout=30"])
        try fixtures.rewrite(path, """
            data-dir = /srv/node
            index-servers = idx1:12120
            max-connection = 1000
            net-read-timeout = 60
            replication-type = sync
            """)
        let (reloaded, changes) = try settings.reloaded(from: path)
        XCTAssertEqual(reloaded.maxConnection, 64)
        XCTAssertEqual(reloaded.netReadTimeout, 30)
        XCTAssertEqual(changes.map(\.description), ["replication-type: async -> sync"])
    }

    func testBrokenFileAbortsReload() throws {
        let fixtures = try ConfigFixtures()
        let path = try fixtures.file(nodeFile)
        let settings = try parseNode(["-f", path])
        try fixtures.rewrite(path, nodeFile + "\nreplication-type = fast\n")
        XCTAssertThrowsError(try settings.reloaded(from: path)) { error in
            XCTAssertEqual((error as? ConfigError)?.description,
                           "\(path):6: 'replication-type' must be one of async, sync, got 'fast'")
        }
        try fixtures.rewrite(path, nodeFile + "\nmax-connection = 1\n")
        XCTAssertThrowsError(try settings.reloaded(from: path)) { error in
            XCTAssertEqual((error as? ConfigError)?.description, "\(path):6: 'max-connection' is given twice, on lines 3 and 6")
        }
        try FileManager.default.removeItem(atPath: path)
        XCTAssertThrowsError(try settings.reloaded(from: path)) { error in
            XCTAssertEqual((error as? ConfigError)?.description,
                           "\(path): cannot read the config file: No such file or directory")
        }
    }

    func testReloadSwitchingIndexServerForms() throws {
        let fixtures = try ConfigFixtures()
        let path = try fixtures.file(nodeFile)
        let settings = try parseNode(["-f", path])
        try fixtures.rewrite(path, "data-dir = /srv/node\nindex-server-name = idx9\nindex-server-port = 12199\n")
        let (reloaded, changes) = try settings.reloaded(from: path)
        XCTAssertEqual(reloaded.indexServers, [IndexServerAddress(name: "idx9", port: 12199)])
        XCTAssertEqual(changes.first?.description, "index-servers: idx1:12120 -> idx9:12199")
    }

    func testIndexReload() throws {
        let fixtures = try ConfigFixtures()
        let path = try fixtures.file(named: "flarei.conf", "data-dir = /srv/index\nmonitor-interval = 1\nserver-port = 12120\n")
        let settings = try parseIndex(["-f", path])
        try fixtures.rewrite(path, """
            data-dir = /srv/index
            monitor-interval = 3
            monitor-threshold = 5
            server-port = 12999
            partition-size = 8
            """)
        let (reloaded, changes) = try settings.reloaded(from: path)
        XCTAssertEqual(changes.map(\.description), ["monitor-threshold: 3 -> 5", "monitor-interval: 1 -> 3"])
        XCTAssertEqual(reloaded.monitorInterval, 3)
        XCTAssertEqual(reloaded.serverPort, 12120)
        XCTAssertEqual(reloaded.partitionSize, 1024)

        try fixtures.rewrite(path, "data-dir = /srv/index\nmonitor-interval = 0\n")
        XCTAssertThrowsError(try settings.reloaded(from: path)) { error in
            XCTAssertEqual((error as? ConfigError)?.description,
                           "\(path):2: 'monitor-interval' must be an integer from 1 to 2147483647, got '0'")
        }
    }

    /// The reload tables and the schema's dynamic flags must agree, or a key
    /// documented as reloadable would silently keep its old value.
    func testReloadTablesCoverExactlyTheDynamicKeys() {
        let nodeDynamic = Set(NodeKey.allCases.filter(\.spec.isDynamic).map(\.name))
        // index-server-name and -port feed the same property as index-servers.
        let nodeExpected = nodeDynamic.subtracting(["index-server-name", "index-server-port"])
        XCTAssertEqual(Set(NodeSettings.reloadableSettings.map(\.key)), nodeExpected)
        XCTAssertEqual(NodeSettings.reloadableSettings.count, nodeExpected.count)

        let indexDynamic = Set(IndexKey.allCases.filter(\.spec.isDynamic).map(\.name))
        XCTAssertEqual(Set(IndexSettings.reloadableSettings.map(\.key)), indexDynamic)
        XCTAssertEqual(IndexSettings.reloadableSettings.count, indexDynamic.count)
    }

    func testDynamicKeysMatchTheSpecification() {
        XCTAssertEqual(Set(NodeKey.allCases.filter(\.spec.isDynamic).map(\.name)), [
            "index-servers", "index-server-name", "index-server-port", "log-facility", "max-connection",
            "noreply-window-limit", "net-read-timeout", "reconstruction-interval", "reconstruction-bwlimit",
            // thread-pool-size is the number of event-loop workers here, fixed at start-up.
            "replication-type", "max-total-thread-queue", "time-watcher-enabled",
            "time-watcher-polling-interval-msec", "storage-access-watch-threshold-warn-msec",
            "storage-access-watch-threshold-ping-ng-msec", "cluster-replication", "cluster-replication-server-name",
            "cluster-replication-server-port", "cluster-replication-mode", "log-level",
        ])
        XCTAssertEqual(Set(IndexKey.allCases.filter(\.spec.isDynamic).map(\.name)), [
            "log-facility", "max-connection", "monitor-threshold", "monitor-interval", "monitor-read-timeout",
            "net-read-timeout", "thread-pool-size", "log-level",
        ])
    }
}
