import XCTest
@testable import FlareConfig

final class CommandLineTests: XCTestCase {
    func testCommandLineWinsOverFile() throws {
        let fixtures = try ConfigFixtures()
        let path = try fixtures.file("""
            data-dir = /from/file
            index-servers = file-index:12120
            server-port = 12121
            max-connection = 256
            """)
        let settings = try parseNode(["-f", path, "--server-port", "13000", "--data-dir=/from/cli"])
        XCTAssertEqual(settings.serverPort, 13000)
        XCTAssertEqual(settings.dataDir, "/from/cli")
        XCTAssertEqual(settings.maxConnection, 256, "keys not on the command line come from the file")
        XCTAssertEqual(settings.indexServers, [IndexServerAddress(name: "file-index", port: 12120)])
    }

    func testEqualsAndSeparateValueSpellings() throws {
        let separate = try parseNode(nodeBasics + ["--server-port", "12345", "--replication-type", "sync"])
        let joined = try parseNode(nodeBasics + ["--server-port=12345", "--replication-type=sync"])
        XCTAssertEqual(separate.serverPort, 12345)
        XCTAssertEqual(separate.replicationType, .sync)
        XCTAssertEqual(separate, joined)
    }

    func testSwitches() throws {
        let off = try parseNode(nodeBasics)
        XCTAssertFalse(off.daemonize)
        XCTAssertFalse(off.storageLarge)
        XCTAssertFalse(off.mysqlReplication)
        XCTAssertFalse(off.logToStderr)

        let long = try parseNode(nodeBasics + ["--daemonize", "--storage-large", "--mysql-replication", "--stderr"])
        XCTAssertTrue(long.daemonize)
        XCTAssertTrue(long.storageLarge)
        XCTAssertTrue(long.mysqlReplication)
        XCTAssertTrue(long.logToStderr)

        let short = try parseIndex(["-d", "-s", "--data-dir", "/tmp"])
        XCTAssertTrue(short.daemonize)
        XCTAssertTrue(short.logToStderr)
    }

    func testSwitchOnCommandLineOverridesFalseInFile() throws {
        let fixtures = try ConfigFixtures()
        let path = try fixtures.file("data-dir = /tmp\nindex-server-name = idx\ndaemonize = false\n")
        XCTAssertFalse(try parseNode(["-f", path]).daemonize)
        XCTAssertTrue(try parseNode(["-f", path, "--daemonize"]).daemonize)
    }

    func testSwitchTakesNoValue() {
        XCTAssertNotNil(nodeError(nodeBasics + ["--daemonize=true"]))
    }

    func testBooleanKeysTakeAValue() throws {
        let settings = try parseNode(nodeBasics + ["--cluster-replication", "yes", "--time-watcher-enabled=on"])
        XCTAssertTrue(settings.clusterReplication)
        XCTAssertTrue(settings.timeWatcherEnabled)
    }

    func testPidAndConfigPaths() throws {
        let fixtures = try ConfigFixtures()
        let path = try fixtures.file(named: "flarei.conf", "data-dir = /srv/index\n")
        let short = try parseIndex(["-f", path, "-p", "/run/flarei.pid"])
        XCTAssertEqual(short.configPath, path)
        XCTAssertEqual(short.pidPath, "/run/flarei.pid")
        XCTAssertEqual(short.effectivePidPath, "/run/flarei.pid")
        let long = try parseIndex(["--config", path, "--pid=/run/other.pid"])
        XCTAssertEqual(long.pidPath, "/run/other.pid")

        let defaults = try parseIndex(["--data-dir", "/srv/index"])
        XCTAssertNil(defaults.configPath)
        XCTAssertNil(defaults.pidPath)
        XCTAssertEqual(defaults.effectivePidPath, "/srv/index/flarei.pid")
        XCTAssertEqual(try parseNode(nodeBasics).effectivePidPath, "/tmp/flare-node/flared.pid")
    }

    func testVersion() throws {
        XCTAssertEqual(try DaemonCommandLine.parseNode(arguments: ["-v"]), .printVersion("flare 1.3.4"))
        XCTAssertEqual(try DaemonCommandLine.parseIndex(arguments: ["--version"]), .printVersion("flare 1.3.4"))
        XCTAssertEqual(FlareVersion.string, "1.3.4")
    }

    func testVersionNeedsNoDataDir() throws {
        // Checked before the configuration, so a bare `flared -v` works.
        XCTAssertEqual(try DaemonCommandLine.parseNode(arguments: ["-v", "-f", "/nonexistent.conf"]),
                       .printVersion("flare 1.3.4"))
    }

    func testHelpListsEveryKey() throws {
        guard case let .printHelp(nodeText) = try DaemonCommandLine.parseNode(arguments: ["-h"]) else {
            return XCTFail("-h should ask for help")
        }
        XCTAssertEqual(nodeText, DaemonCommandLine.nodeHelp)
        for key in NodeKey.allCases {
            XCTAssertTrue(nodeText.contains("--\(key.name)"), key.name)
        }
        for option in ["-f, --config <path>", "-p, --pid <path>", "-s, --stderr", "-v, --version", "-d, --daemonize", "-h, --help"] {
            XCTAssertTrue(nodeText.contains(option), option)
        }
        XCTAssertTrue(nodeText.contains("[reloaded on SIGHUP]"))
        XCTAssertTrue(nodeText.contains("(default: 12121)"))

        guard case let .printHelp(indexText) = try DaemonCommandLine.parseIndex(arguments: ["--help"]) else {
            return XCTFail("--help should ask for help")
        }
        for key in IndexKey.allCases {
            XCTAssertTrue(indexText.contains("--\(key.name)"), key.name)
        }
        XCTAssertTrue(indexText.contains("(default: 12120)"))
    }

    func testArgumentParserErrorsBecomeOneLine() {
        XCTAssertEqual(nodeError(nodeBasics + ["--max-conection", "5"]), "command line: Unknown option '--max-conection'. Did you mean '--max-connection'?")
        XCTAssertEqual(indexError(["--data-dir", "/tmp", "stray"]), "command line: Unexpected argument 'stray'")
        let missing = nodeError(nodeBasics + ["--server-port"])
        XCTAssertEqual(missing?.hasPrefix("command line: Missing value for '--server-port"), true, missing ?? "")
        XCTAssertEqual(missing?.contains("\n"), false)
    }

    func testMissingDataDir() {
        XCTAssertEqual(nodeError(["--index-server-name", "idx"]),
                       "'data-dir' is required: set it in the config file (-f) or pass --data-dir")
        XCTAssertEqual(indexError([]), "'data-dir' is required: set it in the config file (-f) or pass --data-dir")
    }

    func testIndexServersAndIndexServerNameAreExclusive() throws {
        let fixtures = try ConfigFixtures()
        let both = try fixtures.file("data-dir = /tmp\nindex-servers = a:12120\nindex-server-name = b\n")
        XCTAssertEqual(nodeError(["-f", both]),
                       "\(both):2: 'index-servers' cannot be combined with 'index-server-name' (\(both):3); use one or the other")

        let list = try fixtures.file(named: "list.conf", "data-dir = /tmp\nindex-servers = a:12120\n")
        XCTAssertEqual(nodeError(["-f", list, "--index-server-name", "b"]),
                       "\(list):2: 'index-servers' cannot be combined with '--index-server-name' (command line); use one or the other")
        XCTAssertEqual(nodeError(["-f", list, "--index-server-port", "12130"]),
                       "\(list):2: 'index-servers' cannot be combined with '--index-server-port' (command line); use one or the other")
    }

    func testNoIndexServerMeansStandalone() throws {
        XCTAssertEqual(try parseNode(["--data-dir", "/tmp"]).indexServers, [])
        XCTAssertEqual(nodeError(["--data-dir", "/tmp", "--index-server-port", "12130"]),
                       "'index-server-port' is set but 'index-server-name' is not: set both, use 'index-servers', or neither to run standalone")
    }

    func testSingleIndexServerForm() throws {
        XCTAssertEqual(try parseNode(["--data-dir", "/tmp", "--index-server-name", "idx"]).indexServers,
                       [IndexServerAddress(name: "idx", port: 12120)])
        XCTAssertEqual(try parseNode(["--data-dir", "/tmp", "--index-server-name", "idx", "--index-server-port", "12130"]).indexServers,
                       [IndexServerAddress(name: "idx", port: 12130)])
    }

    func testEveryNodeKeyIsALongOption() throws {
        for key in NodeKey.allCases {
            let (arguments, expected) = Self.sampleArguments(for: key)
            let options = try NodeOptions.parse(arguments)
            XCTAssertEqual(options.keyValues, [key: expected], key.name)
        }
    }

    func testEveryIndexKeyIsALongOption() throws {
        for key in IndexKey.allCases {
            let (arguments, expected) = Self.sampleArguments(for: key)
            let options = try IndexOptions.parse(arguments)
            XCTAssertEqual(options.keyValues, [key: expected], key.name)
        }
    }

    /// `--key value` (or just `--key` for a switch) with a value valid for the key.
    private static func sampleArguments<Key: SettingKey>(for key: Key) -> ([String], String) {
        switch key.spec.kind {
        case .toggle: (["--\(key.name)"], "true")
        case let .integer(range): (["--\(key.name)", String(range.lowerBound)], String(range.lowerBound))
        case .text, .nonEmptyText: (["--\(key.name)", "sample"], "sample")
        case let .choice(words): (["--\(key.name)", words.last!], words.last!)
        case .boolean: (["--\(key.name)", "true"], "true")
        case .indexServerList: (["--\(key.name)", "idx:12120"], "idx:12120")
        case .indexDatabase: (["--\(key.name)", "file:///srv"], "file:///srv")
        }
    }
}
