#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Debian's memcached 1.6, the reference for data-command replies.
final class MemcachedProcess: @unchecked Sendable {
    static let path = "/usr/bin/memcached"
    let port: UInt16
    let process = Process()

    init(logDir: String) throws {
        guard FileManager.default.isExecutableFile(atPath: MemcachedProcess.path) else {
            throw HarnessError.message("\(MemcachedProcess.path) is missing; install it: apt-get install memcached")
        }
        port = try FlaredProcess.freePort()
        process.executableURL = URL(fileURLWithPath: MemcachedProcess.path)
        process.arguments = ["-u", "root", "-U", "0", "-l", "127.0.0.1", "-p", String(port)]
        let err = logDir + "/memcached-\(port).stderr"
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: err)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        FlaredProcess.registry.add(process.processIdentifier)
        let end = Clock.now() + 10
        while Clock.now() < end {
            if !process.isRunning {
                throw HarnessError.message("memcached exited with status \(process.terminationStatus): \((try? String(contentsOfFile: err, encoding: .utf8)) ?? "")")
            }
            if let probe = try? RawClient(port: port) {
                probe.close()
                return
            }
            usleep(20_000)
        }
        stop()
        throw HarnessError.message("memcached did not accept connections on port \(port) within 10 s")
    }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let end = Clock.now() + 5
        while process.isRunning && Clock.now() < end { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        FlaredProcess.registry.remove(process.processIdentifier)
    }
}
