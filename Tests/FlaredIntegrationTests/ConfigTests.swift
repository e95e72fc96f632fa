#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest

/// Start-up configuration errors, -v, a port in use, and SIGHUP reloads.
final class ConfigTests: FlaredTestCase {
    private func configFile(_ name: String, _ lines: [String]) throws -> String {
        let scratch = try scratchDirectory()
        try scratch.write(name, lines.joined(separator: "\n") + "\n")
        return scratch.file(name)
    }

    func testUnknownKeyInConfigFileNamesFileLineAndKey() throws {
        let path = try configFile("unknown.conf", ["# flared test config", "data-dir = \(try newDataDir())", "", "max-conection = 3"])
        let run = try FlaredProcess.runToExit(["-f", path], logDir: try scratchDirectory().path)
        XCTAssertEqual(run.status, 255, run.output)
        XCTAssertTrue(run.output.contains("flared: \(path):4: "), run.output)
        XCTAssertTrue(run.output.contains("max-conection"), run.output)
    }

    func testBadValueInConfigFileNamesFileLineKeyAndValue() throws {
        for (line, key, value) in [("max-connection = lots", "max-connection", "lots"),
                                   ("storage-type = btree", "storage-type", "btree"),
                                   ("server-port = 70000", "server-port", "70000")] {
            let path = try configFile("bad.conf", ["data-dir = \(try newDataDir())", "# comment", line])
            let run = try FlaredProcess.runToExit(["-f", path], logDir: try scratchDirectory().path)
            XCTAssertEqual(run.status, 255, run.output)
            XCTAssertTrue(run.output.contains("flared: \(path):3: "), run.output)
            XCTAssertTrue(run.output.contains(key), run.output)
            XCTAssertTrue(run.output.contains(value), run.output)
        }
    }

    func testCommandLineErrorsExitWith255() throws {
        let log = try scratchDirectory().path
        let missing = try FlaredProcess.runToExit(["--server-port", "1"], logDir: log)
        XCTAssertEqual(missing.status, 255, missing.output)
        XCTAssertTrue(missing.output.contains("data-dir"), missing.output)
        let unknown = try FlaredProcess.runToExit(["--data-dir", try newDataDir(), "--no-such-option"], logDir: log)
        XCTAssertEqual(unknown.status, 255, unknown.output)
        XCTAssertTrue(unknown.output.contains("no-such-option"), unknown.output)
        let unreadable = try FlaredProcess.runToExit(["-f", log + "/does-not-exist.conf"], logDir: log)
        XCTAssertEqual(unreadable.status, 255, unreadable.output)
        XCTAssertTrue(unreadable.output.contains("does-not-exist.conf"), unreadable.output)
    }

    func testVersionFlag() throws {
        for flag in ["-v", "--version"] {
            let run = try FlaredProcess.runToExit([flag], logDir: try scratchDirectory().path)
            XCTAssertEqual(run.stdout, "flare 1.3.4\n")
            XCTAssertEqual(run.status, 255, "the original exits with 255 after -v")
        }
    }

    func testPortAlreadyInUse() throws {
        // Hold a listening socket on a loopback port, then ask flared for the same port.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && listen(fd, 1) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        XCTAssertTrue(ok)
        let port = UInt16(bigEndian: addr.sin_port)
        let run = try FlaredProcess.runToExit(["--data-dir", try newDataDir(), "--server-port", String(port), "--server-address", "127.0.0.1"],
                                              logDir: try scratchDirectory().path)
        XCTAssertNotEqual(run.status, 0, run.output)
        XCTAssertTrue(run.output.contains("127.0.0.1:\(port)"), run.output)
        XCTAssertTrue(run.output.contains("already in use"), run.output)
    }

    /// Without `server-address` the node listens where its `server-name` points (the address the
    /// cluster reaches it at), not on loopback, and its log says where.
    func testWithoutServerAddressListensOnTheAddressOfServerName() throws {
        let port = try FlaredProcess.freePort()
        let log = try scratchDirectory()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try FlaredProcess.requireBinary())
        process.arguments = ["--data-dir", try newDataDir(), "--server-name", "127.0.0.7", "--server-port", String(port)]
        let errPath = log.file("server-name.stderr")
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: errPath)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        defer {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
        var listening = false
        for _ in 0..<500 where !listening {
            if let client = try? RawClient(port: port, host: "127.0.0.7") {
                client.close()
                listening = true
            } else {
                usleep(20_000)
            }
        }
        // The socket is bound before the storage opens: the log line may come a moment later.
        let wanted = "listening on 127.0.0.7:\(port) (the address of server-name 127.0.0.7)"
        var stderr = ""
        for _ in 0..<500 {
            stderr = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
            if stderr.contains(wanted) { break }
            usleep(20_000)
        }
        XCTAssertTrue(listening, stderr)
        XCTAssertNil(try? RawClient(port: port, host: "127.0.0.1"), "must not listen on 127.0.0.1 too")
        XCTAssertTrue(stderr.contains(wanted), stderr)
    }

    func testUnresolvableServerNameWithoutServerAddressIsAStartUpError() throws {
        let run = try FlaredProcess.runToExit(["--data-dir", try newDataDir(), "--server-name", "no-such-node.invalid",
                                               "--server-port", String(try FlaredProcess.freePort())],
                                              logDir: try scratchDirectory().path)
        XCTAssertNotEqual(run.status, 0, run.output)
        XCTAssertTrue(run.output.contains("server-name 'no-such-node.invalid' does not resolve"), run.output)
        XCTAssertTrue(run.output.contains("server-address"), run.output)
    }

    func testSighupAppliesAChangedMaxConnection() throws {
        let path = try configFile("reload.conf", ["# reloaded on SIGHUP", "max-connection = 3", "net-read-timeout = 600"])
        let flared = try startFlared(["-f", path])
        var clients: [RawClient] = []
        for i in 0..<3 {
            let client = i == 0 ? try connectFirst(flared) : try connect(flared)
            try exchange(client, "version\r\n", "VERSION flare-1.3.4\r\n")
            clients.append(client)
        }
        expectClose(try connect(flared), after: "SERVER_ERROR too many open connections\r\n")

        try FileManager.default.removeItem(atPath: path)
        try scratchDirectory().write("reload.conf", "# reloaded on SIGHUP\nmax-connection = 5\nnet-read-timeout = 600\n")
        flared.signal(SIGHUP)
        XCTAssertTrue(flared.waitForLog("max-connection: 3 -> 5"), "log: \(flared.stderrText)")
        for _ in 0..<2 {
            let client = try connect(flared)
            try exchange(client, "version\r\n", "VERSION flare-1.3.4\r\n")
            clients.append(client)
        }
        expectClose(try connect(flared), after: "SERVER_ERROR too many open connections\r\n")
        try clients[0].send("show variables\r\n")
        let variables = String(decoding: try clients[0].read(until: "\r\nEND\r\n"), as: UTF8.self)
        XCTAssertTrue(variables.contains("max_connection:         5\r\n"), variables)

        // A broken file is refused and the settings stay.
        try scratchDirectory().write("reload.conf", "max-connection = many\n")
        flared.signal(SIGHUP)
        XCTAssertTrue(flared.waitForLog("reload of \(path) failed"), "log: \(flared.stderrText)")
        XCTAssertTrue(flared.stderrText.contains("many"), flared.stderrText)
        expectClose(try connect(flared), after: "SERVER_ERROR too many open connections\r\n")
        try exchange(clients[4], "ping\r\n", "OK\r\n")
    }
}
