@testable import FlareTools
import XCTest

final class ArgumentTests: XCTestCase {
    private func message(_ body: () throws -> Any) -> String? {
        do {
            _ = try body()
            return nil
        } catch {
            return "\(error)"
        }
    }

    func testNodeAddresses() throws {
        XCTAssertEqual(try NodeAddress.parse("127.0.0.1:12121"), NodeAddress(host: "127.0.0.1", port: "12121"))
        for bad in ["127.0.0.1", "127.0.0.1:", ":12121", "h:p", "h:1:2"] {
            XCTAssertEqual(message { try NodeAddress.parse(bad) }, "invalid argument '\(bad)'. it must be hostname:port.")
        }
    }

    func testAssignments() throws {
        XCTAssertEqual(try NodeAssignment.parse("n:12121:2:1"),
                       NodeAssignment(address: NodeAddress(host: "n", port: "12121"), balance: 2, partition: 1))
        XCTAssertEqual(message { try NodeAssignment.parse("n:12121:1") },
                       "invalid argument 'n:12121:1'. it must be hostname:port:balance:partition.")
        XCTAssertEqual(message { try NodeAssignment.parse("n:12121:x:0") }, "invalid balance 'n:12121:x:0'.")
        XCTAssertEqual(message { try NodeAssignment.parse("n:12121:1:-1") }, "invalid partition 'n:12121:1:-1'.")
        XCTAssertEqual(try BalanceAssignment.parse("n:1:3").balance, 3)
        XCTAssertEqual(message { try BalanceAssignment.parse("n:1") }, "invalid argument 'n:1'. it must be hostname:port:balance.")
        XCTAssertNil(try DumpSource.parse("n:1").partition)
        XCTAssertEqual(try DumpSource.parse("n:1:1:2").partition, 2)
        XCTAssertEqual(message { try DumpSource.parse("n:1:1") }, "invalid argument 'n:1:1'.")
    }

    func testBandwidthLimits() throws {
        XCTAssertEqual(try ["800", "10k", "1M", "2G", "3B", "2kB", "1MB"].map(BandwidthLimit.bitsPerSecond),
                       [800, 10240, 1 << 20, 2 << 30, 24, 16384, 8 << 20])
        XCTAssertEqual(message { try BandwidthLimit.bitsPerSecond("fast") }, "invalid bandwidth limit 'fast'")
        XCTAssertEqual(BandwidthLimit.kibibytesPerSecond(bitsPerSecond: 8 << 20), 1024)
    }

    func testIndexServerDefaultsOptionsAndEnvironment() throws {
        let none = IndexServerLocator(environment: [:]) { _, _ in false }
        XCTAssertEqual(try none.locate(IndexServerChoice(), nodeArguments: []), Endpoint(host: "127.0.0.1", port: "12120"))
        XCTAssertEqual(try none.locate(IndexServerChoice(server: "idx:13000"), nodeArguments: []), Endpoint(host: "idx", port: "13000"))
        XCTAssertEqual(try none.locate(IndexServerChoice(server: "idx", port: 13001), nodeArguments: []), Endpoint(host: "idx", port: "13001"))
        XCTAssertEqual(message { try none.locate(IndexServerChoice(server: "idx:1", port: 2), nodeArguments: []) },
                       "--index-server-port option isn't allowed.")
        let environment = IndexServerLocator(environment: ["FLARE_INDEX_SERVER": "envhost:14000"]) { _, _ in false }
        XCTAssertEqual(try environment.locate(IndexServerChoice(), nodeArguments: []), Endpoint(host: "envhost", port: "14000"))
        XCTAssertEqual(try environment.locate(IndexServerChoice(server: "idx"), nodeArguments: []), Endpoint(host: "idx", port: "14000"))
        XCTAssertEqual(message { try none.locate(IndexServerChoice(server: "idx:port"), nodeArguments: []) },
                       "invalid index server port 'port'")
    }

    func testClustersFromFlareIndexServers() throws {
        let asked = Shared<[String]>([])
        let locator = IndexServerLocator(environment: ["FLARE_INDEX_SERVERS": "a:ia:12120;b:ib:12130"]) { endpoint, keys in
            asked.with { $0.append("\(endpoint) \(keys)") }
            return endpoint.host == "ib" && keys == ["n1:12121", "n2:12121"]
        }
        XCTAssertEqual(try locator.locate(IndexServerChoice(cluster: "b"), nodeArguments: []), Endpoint(host: "ib", port: "12130"))
        XCTAssertEqual(message { try locator.locate(IndexServerChoice(cluster: "c"), nodeArguments: []) },
                       "unknown cluster 'c' (not in FLARE_INDEX_SERVERS)")
        XCTAssertEqual(try locator.locate(IndexServerChoice(), nodeArguments: ["n1:12121:1:0", "n2:12121"]), Endpoint(host: "ib", port: "12130"))
        XCTAssertEqual(asked.with { $0 }, ["ia:12120 [\"n1:12121\", \"n2:12121\"]", "ib:12130 [\"n1:12121\", \"n2:12121\"]"])
        // No cluster lists the nodes: back to the ordinary default.
        XCTAssertEqual(try locator.locate(IndexServerChoice(), nodeArguments: ["x:1"]), Endpoint(host: "127.0.0.1", port: "12120"))
    }

    /// Redundant index servers (flarei on ZooKeeper): lists in -i and FLARE_INDEX_SERVER, a cluster
    /// named once per index server in FLARE_INDEX_SERVERS.
    func testSeveralIndexServers() throws {
        let none = IndexServerLocator(environment: [:]) { _, _ in false }
        XCTAssertEqual(try none.locateAll(IndexServerChoice(server: "i1:13000, i2:13001,i3"), nodeArguments: []),
                       [Endpoint(host: "i1", port: "13000"), Endpoint(host: "i2", port: "13001"), Endpoint(host: "i3", port: "12120")])
        XCTAssertEqual(try none.locateAll(IndexServerChoice(server: "i1,i2", port: 13005), nodeArguments: []),
                       [Endpoint(host: "i1", port: "13005"), Endpoint(host: "i2", port: "13005")])
        XCTAssertEqual(message { try none.locateAll(IndexServerChoice(server: "i1,i2:1", port: 2), nodeArguments: []) },
                       "--index-server-port option isn't allowed.")
        XCTAssertEqual(message { try none.locateAll(IndexServerChoice(server: "i1:13000,i2:x"), nodeArguments: []) },
                       "invalid index server port 'x'")
        let environment = IndexServerLocator(environment: ["FLARE_INDEX_SERVER": "e1:14000,e2:14001"]) { _, _ in false }
        XCTAssertEqual(try environment.locateAll(IndexServerChoice(), nodeArguments: []),
                       [Endpoint(host: "e1", port: "14000"), Endpoint(host: "e2", port: "14001")])
        let clusters = IndexServerLocator(environment: ["FLARE_INDEX_SERVERS": "a:ia:12120;b:ib1:12130;b:ib2:12130"]) { endpoint, _ in
            endpoint.host == "ib2"
        }
        XCTAssertEqual(try clusters.locateAll(IndexServerChoice(cluster: "b"), nodeArguments: []),
                       [Endpoint(host: "ib1", port: "12130"), Endpoint(host: "ib2", port: "12130")])
        // The index server that lists the nodes first, then the rest of its cluster.
        XCTAssertEqual(try clusters.locateAll(IndexServerChoice(), nodeArguments: ["n1:12121"]),
                       [Endpoint(host: "ib2", port: "12130"), Endpoint(host: "ib1", port: "12130")])
    }

    func testCommandLineErrorsAreOneLineWithStatusOne() {
        let cases: [([String], String)] = [
            (["list", "--bogus"], "flare-admin: Unknown option '--bogus' (see 'flare-admin --help')\n"),
            (["master", "n:12121:0:0"], "invalid balance 'n:12121:0:0'.\n"),
            (["slave", "n:x:1:0"], "invalid argument 'n:x:1:0'. it must be hostname:port:balance:partition.\n"),
            (["ping"], "no node specified (usage: ping [hostname:port] ...)\n"),
            (["reconstruct", "--all", "n:1"], "don't specify any nodes with --all option.\n"),
            (["list", "--timeout", "0"], "flare-admin: --timeout must be a positive number of seconds (see 'flare-admin --help')\n"),
            (["dump", "--format", "tch", "n:1"], "unknown format: tch\n"),
            (["verify", "--key-hash-algorithm", "murmur"], "unknown type: murmur\n"),
            (["list", "-i", "127.0.0.1:1"], "cannot connect to index server 127.0.0.1:1: Connection refused\n"),
        ]
        for (arguments, expected) in cases {
            let out = CapturedText(), err = CapturedText()
            let status = ToolMain.run(FlareAdminCommand.self, programName: "flare-admin", arguments: arguments, out: out, err: err)
            XCTAssertEqual(status, 1, "\(arguments)")
            XCTAssertEqual(err.text, expected, "\(arguments)")
            XCTAssertEqual(out.text, "", "\(arguments)")
        }
    }

    func testHelpGoesToStdoutWithStatusZero() {
        let out = CapturedText(), err = CapturedText()
        XCTAssertEqual(ToolMain.run(FlareStatsCommand.self, programName: "flare-stats", arguments: ["--help"], out: out, err: err), 0)
        XCTAssertTrue(out.text.contains("--delimiter"))
        XCTAssertEqual(err.text, "")
    }

    func testDumpkeyShortPIsThePartition() throws {
        let command = try FlareAdminCommand.parseAsRoot(["dumpkey", "-p", "1", "-s", "2", "n:12121"])
        let dumpkey = try XCTUnwrap(command as? DumpkeyCommand)
        XCTAssertEqual(dumpkey.partition, 1)
        XCTAssertEqual(dumpkey.partitionSize, 2)
        XCTAssertNil(dumpkey.index.indexServerPort)
    }
}
