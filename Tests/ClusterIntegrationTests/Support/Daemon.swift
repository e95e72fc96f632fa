import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where `swift build` put the executables: next to the test bundle.
enum Executables {
    static let directory: URL = {
        let fileManager = FileManager.default
        var candidates: [URL] = []
        if let explicit = ProcessInfo.processInfo.environment["FLARE_BIN_DIR"] {
            candidates.append(URL(fileURLWithPath: explicit))
        }
        candidates.append(Bundle.main.bundleURL)
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent())
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            candidates.append(bundle.bundleURL.deletingLastPathComponent())
        }
        let argument0 = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        candidates.append(argument0.deletingLastPathComponent())
        // On Linux the .xctest is itself an executable file in .build/<config>/.
        candidates.append(argument0.deletingLastPathComponent().deletingLastPathComponent())
        for candidate in candidates where fileManager.isExecutableFile(atPath: candidate.appendingPathComponent("flared").path) {
            return candidate
        }
        return candidates[0]
    }()

    static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }
}

/// A free TCP port on `host` (bound to port 0 and released).
func freePort(host: String) -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    inet_pton(AF_INET, host, &address.sin_addr)
    _ = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// One daemon process (flarei or flared), its output appended to a log file.
/// Started through `setpriv --pdeathsig KILL` so it cannot outlive a crashed test run.
final class Daemon {
    let label: String
    let executable: URL
    let arguments: [String]
    let logPath: String
    /// Commands the daemon is started through (e.g. `ip netns exec <ns>`), which exec it in place.
    let prefix: [String]
    private(set) var process: Process?

    init(label: String, executable: URL, arguments: [String], logPath: String, prefix: [String] = []) {
        self.prefix = prefix
        self.label = label
        self.executable = executable
        self.arguments = arguments
        self.logPath = logPath
    }

    var pid: Int32 { process?.processIdentifier ?? 0 }
    var isRunning: Bool { process?.isRunning ?? false }

    func start() throws {
        let fd = open(logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else { throw ClientError.io("open \(logPath)", errno) }
        let log = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        log.write(Data("=== \(Date()) start \(label): \(executable.lastPathComponent) \(arguments.joined(separator: " "))\n".utf8))
        let process = Process()
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--pdeathsig", "KILL", "--"] + prefix + [executable.path] + arguments
        } else if let first = prefix.first {
            process.executableURL = URL(fileURLWithPath: first)
            process.arguments = Array(prefix.dropFirst()) + [executable.path] + arguments
        } else {
            process.executableURL = executable
            process.arguments = arguments
        }
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
    }

    func signal(_ number: Int32) {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, number)
    }

    /// kill -9 and reap.
    func kill9() {
        guard let process else { return }
        if process.isRunning {
            kill(process.processIdentifier, SIGCONT)
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
    }

    func logTail(_ count: Int = 40) -> String {
        guard let text = try? String(contentsOfFile: logPath, encoding: .utf8) else { return "(no log)" }
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(count).joined(separator: "\n")
    }

    func log() -> String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
}

/// Result of a tool run.
struct ToolRun: CustomStringConvertible {
    let status: Int32
    let output: String
    let errors: String
    let seconds: Double
    var description: String { "exit \(status) after \(String(format: "%.1f", seconds)) s\n--- stdout\n\(output)--- stderr\n\(errors)" }
}

/// Runs flare-admin / flare-stats (bounded by `timeout`) and collects its output.
func runTool(_ name: String, _ arguments: [String], in directory: URL, timeout: Int = 60) throws -> ToolRun {
    let outPath = directory.appendingPathComponent("\(name)-\(UUID().uuidString).out").path
    let errPath = outPath + ".err"
    _ = FileManager.default.createFile(atPath: outPath, contents: nil)
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    let out = FileHandle(forWritingAtPath: outPath)!
    let err = FileHandle(forWritingAtPath: errPath)!
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
    process.arguments = ["-s", "KILL", String(timeout), Executables.url(name).path] + arguments
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    let started = Date()
    try process.run()
    process.waitUntilExit()
    try? out.close()
    try? err.close()
    let run = ToolRun(status: process.terminationStatus,
                      output: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                      errors: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "",
                      seconds: Date().timeIntervalSince(started))
    try? FileManager.default.removeItem(atPath: outPath)
    try? FileManager.default.removeItem(atPath: errPath)
    return run
}

/// Monotonic seconds.
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Polls `condition` every `interval` until it holds or `timeout` passes; true if it held.
@discardableResult
func waitUntil(timeout: Double, interval: Double = 0.05, _ condition: () -> Bool) -> Bool {
    let deadline = now() + timeout
    while true {
        if condition() { return true }
        if now() >= deadline { return false }
        usleep(UInt32(interval * 1_000_000))
    }
}
