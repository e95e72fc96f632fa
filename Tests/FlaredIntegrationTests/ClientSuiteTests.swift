import Foundation
import XCTest

/// Other people's client test suites, run against Debian's memcached 1.6.18 and against flared
/// alike, in the text protocol: every test that passes against memcached must pass against flared.
/// Both counts are printed side by side. The suites come from scripts/install-deps (libmemcached's
/// `memccapable`; pymemcache's and pylibmc's tests from their PyPI source distributions).
final class ClientSuiteTests: FlaredTestCase {
    static let suites = ProcessInfo.processInfo.environment["FLARE_CLIENT_SUITES"] ?? "/usr/local/share/flare/client-suites"
    static let installHint = "run scripts/install-deps (it installs the client libraries and unpacks their test suites into \(suites))"

    /// Each test's outcome by name.
    typealias Outcomes = [String: Bool]

    private func requirePath(_ path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw HarnessError.message("\(path) is missing; \(ClientSuiteTests.installHint)")
        }
    }

    /// Runs `suite` against both servers and checks that flared passes whatever memcached passes.
    private func compare(_ name: String, file: StaticString = #filePath, line: UInt = #line,
                         _ suite: (UInt16) throws -> Outcomes) throws {
        let scratch = try scratchDirectory()
        let memcached = try MemcachedProcess(logDir: scratch.path)
        defer { memcached.stop() }
        let flared = try startFlared()
        let fromMemcached = try suite(memcached.port)
        let fromFlared = try suite(flared.port)
        let passedMemcached = fromMemcached.filter(\.value).count
        let passedFlared = fromFlared.filter(\.value).count
        print("\(name): memcached 1.6.18 passes \(passedMemcached) of \(fromMemcached.count), flared \(passedFlared) of \(fromFlared.count)")
        XCTAssertGreaterThan(passedMemcached, 0, "\(name) ran no test against memcached", file: file, line: line)
        let regressions = fromMemcached.filter { $0.value && fromFlared[$0.key] != true }.keys.sorted()
        XCTAssertEqual(regressions, [], "\(name): passes against memcached, not against flared", file: file, line: line)
        XCTAssertEqual(passedFlared, passedMemcached, "\(name): pass counts differ", file: file, line: line)
    }

    func testMemcapableTextProtocol() throws {
        try requirePath("/usr/bin/memccapable")
        try compare("memcapable (ascii)") { port in
            let scratch = try scratchDirectory()
            let run = try ToolRun.run("/usr/bin/memccapable", ["-h", "127.0.0.1", "-p", String(port), "-a", "-t", "5"],
                                      in: scratch.path, timeout: 120)
            var outcomes = Outcomes()
            for line in run.stdout.split(separator: "\n") where line.hasPrefix("ascii ") {
                guard let open = line.lastIndex(of: "[") else { continue }
                let name = line[..<open].trimmingCharacters(in: .whitespaces)
                outcomes[name] = line[open...].hasPrefix("[pass]")
            }
            return outcomes
        }
    }

    /// pymemcache's integration tests, run as its tox environment does (`-m integration`). Its TLS
    /// tests need a TLS server, which neither server runs here: they fail against both.
    func testPymemcacheIntegrationSuite() throws {
        let suite = ClientSuiteTests.suites + "/pymemcache-3.5.2"
        try requirePath(suite + "/pymemcache/test/test_integration.py")
        try compare("pymemcache 3.5.2 integration tests") { port in
            try pytest(in: suite, ["pymemcache/test/", "-m", "integration", "--server", "127.0.0.1", "--port", String(port)])
        }
    }

    /// pylibmc's tests with every client in the text protocol (a plugin forces `binary=False`).
    /// The tests that need binary keys (a zero byte) or an ElastiCache configuration endpoint fail
    /// against both servers.
    func testPylibmcSuiteInTextMode() throws {
        let suite = ClientSuiteTests.suites + "/pylibmc-1.6.3"
        try requirePath(suite + "/tests/test_client.py")
        let scratch = try scratchDirectory()
        try scratch.write("flare_text_mode.py", """
            # pylibmc's tests in the text protocol: every client they make speaks ASCII.
            import pylibmc.test
            _make = pylibmc.test.make_test_client
            def _text_client(*args, **kwargs):
                kwargs["binary"] = False
                return _make(*args, **kwargs)
            pylibmc.test.make_test_client = _text_client

            """)
        try compare("pylibmc 1.6.3 tests (text protocol)") { port in
            try pytest(in: suite, ["-p", "flare_text_mode", "tests"],
                       environment: ["MEMCACHED_PORT=\(port)", "PYTHONPATH=\(scratch.path)"])
        }
    }

    /// Runs pytest in `directory` (without writing into it) and reads each test's outcome.
    private func pytest(in directory: String, _ arguments: [String], environment: [String] = []) throws -> Outcomes {
        let scratch = try scratchDirectory()
        let quoted = arguments.map { "'\($0)'" }.joined(separator: " ")
        let command = "cd '\(directory)' && exec env PYTHONDONTWRITEBYTECODE=1 \(environment.joined(separator: " ")) " +
            "/usr/bin/python3 -m pytest -q -rA -p no:cacheprovider -o addopts= \(quoted)"
        let run = try ToolRun.run("/bin/sh", ["-c", command], in: scratch.path, timeout: 300)
        var outcomes = Outcomes()
        for line in run.stdout.split(separator: "\n") {
            for (prefix, passed) in [("PASSED ", true), ("FAILED ", false), ("ERROR ", false)] where line.hasPrefix(prefix) {
                let name = line.dropFirst(prefix.count).split(separator: " ").first.map(String.init) ?? ""
                outcomes[name] = passed
            }
        }
        if outcomes.isEmpty { throw HarnessError.message("pytest reported no test:\n\(run.stdout)\n\(run.stderr)") }
        return outcomes
    }
}
