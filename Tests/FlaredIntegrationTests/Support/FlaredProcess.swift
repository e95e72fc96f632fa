#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest

enum HarnessError: Error, CustomStringConvertible {
    case message(String)
    var description: String {
        switch self { case .message(let text): text }
    }
}

/// A scratch directory removed when the owning test ends.
final class ScratchDirectory: @unchecked Sendable {
    let path: String

    init(prefix: String = "flared-itest") throws {
        var template = Array((NSTemporaryDirectory() + "/\(prefix)-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw HarnessError.message("mkdtemp failed: \(String(cString: strerror(errno)))")
        }
        path = String(cString: made)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func write(_ name: String, _ text: String) throws {
        try text.write(toFile: file(name), atomically: false, encoding: .utf8)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Runs the real `flared` binary built next to this test bundle.
///
/// Output goes to files (never to a pipe that could fill up and stall the daemon); `stderrText`
/// reads what the daemon has logged so far. `stop()` is safe to call any number of times.
final class FlaredProcess: @unchecked Sendable {
    let port: UInt16
    let dataDir: String
    let arguments: [String]
    let process: Process
    let stdoutPath: String
    let stderrPath: String
    private(set) var exitStatus: Int32?

    /// The `flared` executable: $FLARED_BINARY, or the products directory holding the test bundle.
    static let binaryPath: String? = {
        if let explicit = ProcessInfo.processInfo.environment["FLARED_BINARY"] { return explicit }
        var candidates: [URL] = [Bundle.main.bundleURL]
        candidates.append(Bundle(for: FlaredProcess.self).bundleURL.deletingLastPathComponent())
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
        for directory in candidates {
            let path = directory.appendingPathComponent("flared").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }()

    static func requireBinary() throws -> String {
        guard let path = binaryPath else {
            throw HarnessError.message("cannot find the flared executable next to the test bundle (\(Bundle.main.bundleURL.path)); build it with `swift build` or set FLARED_BINARY")
        }
        return path
    }

    /// A loopback port that was free a moment ago (bind to port 0, read it back, close).
    static func freePort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError.message("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Int32 in
                guard bind(fd, p, len) == 0 else { return -1 }
                return getsockname(fd, p, &len)
            }
        }
        guard bound == 0 else { throw HarnessError.message("bind to port 0 failed: \(String(cString: strerror(errno)))") }
        return UInt16(bigEndian: addr.sin_port)
    }

    /// Launches flared and returns once its port accepts connections.
    /// `arguments` come after `--data-dir`, `--server-port` and `--server-address`.
    static func start(dataDir: String, logDir: String, arguments: [String] = [], port: UInt16? = nil,
                      readyTimeout: Double = 10) throws -> FlaredProcess {
        // A port picked by `freePort` can be taken by someone else before flared binds it: retry.
        var lastError: Error?
        for attempt in 0..<3 {
            let chosen = try port ?? freePort()
            let flared = try FlaredProcess(port: chosen, dataDir: dataDir, logDir: logDir,
                                           tag: "\(chosen)-\(attempt)", arguments: arguments)
            do {
                try flared.waitUntilReady(timeout: readyTimeout)
                return flared
            } catch {
                flared.stop()
                lastError = error
                if port != nil || !flared.stderrText.contains("already in use") { throw error }
            }
        }
        throw lastError!
    }

    private init(port: UInt16, dataDir: String, logDir: String, tag: String, arguments extra: [String]) throws {
        self.port = port
        self.dataDir = dataDir
        arguments = ["--data-dir", dataDir, "--server-port", String(port), "--server-address", "127.0.0.1"] + extra
        stdoutPath = logDir + "/flared-\(tag).stdout"
        stderrPath = logDir + "/flared-\(tag).stderr"
        process = Process()
        process.executableURL = URL(fileURLWithPath: try FlaredProcess.requireBinary())
        process.arguments = arguments
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        FlaredProcess.registry.add(process.processIdentifier)
    }

    var pid: Int32 { process.processIdentifier }
    var stderrText: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
    var stdoutText: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }

    /// Polls until a connection to the port succeeds; fails early, with the daemon's output, if it exits.
    func waitUntilReady(timeout: Double) throws {
        let end = Clock.now() + timeout
        while Clock.now() < end {
            if !process.isRunning {
                process.waitUntilExit()
                exitStatus = process.terminationStatus
                throw HarnessError.message("flared exited with status \(process.terminationStatus) before accepting connections on port \(port)\nargs: \(arguments)\nstderr: \(stderrText)\nstdout: \(stdoutText)")
            }
            if let client = try? RawClient(port: port) {
                client.close()
                return
            }
            usleep(20_000)
        }
        throw HarnessError.message("flared did not accept connections on port \(port) within \(timeout) s\nargs: \(arguments)\nstderr: \(stderrText)")
    }

    func client() throws -> RawClient { try RawClient(port: port) }

    /// Sends `signal` to the daemon (if it is still running).
    func signal(_ signal: Int32) {
        if process.isRunning { kill(pid, signal) }
    }

    /// Waits for the process to exit; returns its status, or nil if it is still running after `timeout`.
    @discardableResult
    func waitForExit(timeout: Double) -> Int32? {
        let end = Clock.now() + timeout
        while process.isRunning {
            if Clock.now() >= end { return nil }
            usleep(10_000)
        }
        process.waitUntilExit()
        exitStatus = process.terminationStatus
        FlaredProcess.registry.remove(pid)
        return exitStatus
    }

    /// SIGTERM, then SIGKILL if it has not exited after `grace` seconds.
    func stop(grace: Double = 5) {
        guard process.isRunning else {
            _ = waitForExit(timeout: 0)
            return
        }
        kill(pid, SIGTERM)
        if waitForExit(timeout: grace) == nil {
            kill(pid, SIGKILL)
            _ = waitForExit(timeout: 5)
        }
    }

    /// `kill -9`: no shutdown code runs.
    func kill9() {
        if process.isRunning { kill(pid, SIGKILL) }
        _ = waitForExit(timeout: 5)
    }

    /// Polls the daemon's stderr until it contains `text`.
    func waitForLog(_ text: String, timeout: Double = 5) -> Bool {
        let end = Clock.now() + timeout
        while Clock.now() < end {
            if stderrText.contains(text) { return true }
            usleep(20_000)
        }
        return stderrText.contains(text)
    }

    /// Every daemon started by the suite, so none outlives the test process.
    static let registry = ProcessRegistry()
}

/// Kills leftover daemons when the test process exits normally (a crashing test cannot run its tear-down).
final class ProcessRegistry: @unchecked Sendable {
    private let lock = NSLock()
    private var pids: Set<Int32> = []
    private var installed = false

    func add(_ pid: Int32) {
        lock.lock()
        defer { lock.unlock() }
        pids.insert(pid)
        if !installed {
            installed = true
            atexit { FlaredProcess.registry.killAll() }
        }
    }

    func remove(_ pid: Int32) {
        lock.lock()
        pids.remove(pid)
        lock.unlock()
    }

    func killAll() {
        lock.lock()
        let all = pids
        pids.removeAll()
        lock.unlock()
        for pid in all { kill(pid, SIGKILL) }
    }
}

/// The result of running flared to completion (configuration errors, `-v`).
struct FlaredRun {
    let status: Int32
    let stdout: String
    let stderr: String
    var output: String { stdout + stderr }
}

extension FlaredProcess {
    /// Runs flared with exactly `arguments` and waits (bounded) for it to exit.
    static func runToExit(_ arguments: [String], logDir: String, timeout: Double = 10) throws -> FlaredRun {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try requireBinary())
        process.arguments = arguments
        let tag = UUID().uuidString
        let out = logDir + "/run-\(tag).stdout"
        let err = logDir + "/run-\(tag).stderr"
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: out)
        process.standardError = FileHandle(forWritingAtPath: err)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        registry.add(process.processIdentifier)
        let end = Clock.now() + timeout
        while process.isRunning && Clock.now() < end { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            registry.remove(process.processIdentifier)
            throw HarnessError.message("flared \(arguments) did not exit within \(timeout) s; stderr: \((try? String(contentsOfFile: err, encoding: .utf8)) ?? "")")
        }
        process.waitUntilExit()
        registry.remove(process.processIdentifier)
        return FlaredRun(status: process.terminationStatus,
                         stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
                         stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }
}

/// Runs a helper program (python3, libmemcached tools) with a bounded wait.
struct ToolRun {
    let status: Int32
    let stdout: String
    let stderr: String

    static func run(_ executable: String, _ arguments: [String], in directory: String, timeout: Double = 30) throws -> ToolRun {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let tag = UUID().uuidString
        let out = directory + "/tool-\(tag).stdout"
        let err = directory + "/tool-\(tag).stderr"
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: out)
        process.standardError = FileHandle(forWritingAtPath: err)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let end = Clock.now() + timeout
        while process.isRunning && Clock.now() < end { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw HarnessError.message("\(executable) \(arguments) did not finish within \(timeout) s")
        }
        process.waitUntilExit()
        return ToolRun(status: process.terminationStatus,
                       stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
                       stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }
}
