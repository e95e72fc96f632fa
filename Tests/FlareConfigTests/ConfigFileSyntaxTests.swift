import XCTest
@testable import FlareConfig

final class ConfigFileSyntaxTests: XCTestCase {
    func testCommentsBlankLinesAndWhitespaceAreIgnored() throws {
        let fixtures = try ConfigFixtures()
        let path = try fixtures.file("""
            # a comment line
               # an indented comment

            data-dir=/srv/flare
            \tindex-servers   =  idx:12120\t
            server-port = 12200   # trailing comment
            log-facility =
            """)
        let settings = try parseNode(["-f", path])
        XCTAssertEqual(settings.dataDir, "/srv/flare")
        XCTAssertEqual(settings.indexServers, [IndexServerAddress(name: "idx", port: 12120)])
        XCTAssertEqual(settings.serverPort, 12200)
        XCTAssertEqual(settings.logFacility, "")
        XCTAssertEqual(settings.configPath, path)
    }

    func testWindowsLineEndingsAreAccepted() throws {
        let fixtures = try ConfigFixtures()
        let path = try fixtures.file("data-dir = /srv/flare\r\nindex-server-name = idx\r\nserver-port = 12201\r\n")
        let settings = try parseNode(["-f", path])
        XCTAssertEqual(settings.dataDir, "/srv/flare")
        XCTAssertEqual(settings.serverPort, 12201)
    }

    func testValueMayContainEqualsSign() throws {
        let fixtures = try ConfigFixtures()
        let path = try fixtures.file("data-dir = /srv/a=b\nindex-server-name = idx\n")
        XCTAssertEqual(try parseNode(["-f", path]).dataDir, "/srv/a=b")
    }

    func testLineWithoutEqualsSignNamesFileAndLine() throws {
        let fixtures = try ConfigFixtures()
        let path = try fixtures.file("data-dir = /srv/flare\n\nserver-port 12121\n")
        XCTAssertEqual(nodeError(["-f", path]), "\(path):3: expected 'key = value', got 'server-port 12121'")
    }

    func testLineWithoutKeyIsMalformed() throws {
        let fixtures = try ConfigFixtures()
        let path = try fixtures.file(" = 12121\n")
        XCTAssertEqual(nodeError(["-f", path]), "\(path):1: expected 'key = value', got '= 12121'")
    }

    func testSectionHeaderIsMalformed() throws {
        let fixtures = try ConfigFixtures()
        let path = try fixtures.file("[flared]\n")
        XCTAssertEqual(nodeError(["-f", path]), "\(path):1: expected 'key = value', got '[flared]'")
    }

    func testUnknownKeyNamesFileLineAndKey() throws {
        let fixtures = try ConfigFixtures()
        let path = try fixtures.file(named: "flared.conf", """
            data-dir = /tmp
            index-servers = localhost:12120
            log-facility = local1
            # typo below

            server-port = 12121
            max-conection = 256
            """)
        XCTAssertEqual(nodeError(["-f", path]), "\(path):7: unknown key 'max-conection'")
    }

    func testKeysOfTheOtherDaemonAreUnknown() throws {
        let fixtures = try ConfigFixtures()
        let index = try fixtures.file(named: "flarei.conf", "data-dir = /tmp\nmutex-slot = 32\n")
        XCTAssertEqual(indexError(["-f", index]), "\(index):2: unknown key 'mutex-slot'")
        let node = try fixtures.file(named: "flared.conf", "data-dir = /tmp\nmonitor-interval = 1\n")
        XCTAssertEqual(nodeError(["-f", node]), "\(node):2: unknown key 'monitor-interval'")
    }

    func testKeysAreCaseSensitive() throws {
        let fixtures = try ConfigFixtures()
        let path = try fixtures.file("Data-Dir = /tmp\n")
        XCTAssertEqual(nodeError(["-f", path]), "\(path):1: unknown key 'Data-Dir'")
    }

    func testDuplicateKeyNamesBothLines() throws {
        let fixtures = try ConfigFixtures()
        let path = try fixtures.file("""
            data-dir = /tmp
            server-port = 12121
            index-server-name = idx
            server-port = 12122
            """)
        XCTAssertEqual(nodeError(["-f", path]), "\(path):4: 'server-port' is given twice, on lines 2 and 4")
    }

    func testMissingFileIsReportedWithTheSystemReason() throws {
        let fixtures = try ConfigFixtures()
        let path = fixtures.directory.appendingPathComponent("absent.conf").path
        XCTAssertEqual(nodeError(["-f", path] + nodeBasics), "\(path): cannot read the config file: No such file or directory")
    }

    func testDirectoryIsUnreadable() throws {
        let fixtures = try ConfigFixtures()
        let path = fixtures.directory.path
        XCTAssertEqual(indexError(["-f", path]), "\(path): cannot read the config file: Is a directory")
    }
}
