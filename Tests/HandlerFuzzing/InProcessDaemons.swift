#if canImport(Glibc)
import Glibc
#endif
import Foundation
import FlareConfig
import FlareIndex
import FlareNode
import FlareNet
import Logging

/// The real flared / flarei, started in this process on a thread of their own (their `run` blocks),
/// so that the fuzzer can hand connections straight to their `Server` and look at their state.
/// They are never stopped: their threads end with the test process.
final class DaemonThread: @unchecked Sendable {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
    func start() {
        let thread = Thread { [self] in body() }
        thread.stackSize = 8 << 20
        thread.start()
    }
}

public enum InProcessDaemons {
    /// Quiet: the fuzzer makes daemons log a lot (every refused push, every odd map).
    static var logger: Logger {
        var logger = Logger(label: "fuzz")
        logger.logLevel = .critical
        return logger
    }

    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, len) == 0 ? getsockname(fd, $0, &len) : -1 }
        }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Until the daemon answers `version`: a daemon binds its port before it opens its storage
    /// (clients connecting during start-up wait), so a connect alone does not mean it has started.
    static func waitForPort(_ port: Int, timeout: Double = 10) -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = in_port_t(UInt16(port).bigEndian)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            var wait = timeval(tv_sec: 1, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
            let connected = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            var answered = false
            if connected {
                let request: StaticString = "version\r\n"
                var reply = [UInt8](repeating: 0, count: 64)
                if send(fd, request.utf8Start, request.utf8CodeUnitCount, Int32(MSG_NOSIGNAL)) == request.utf8CodeUnitCount {
                    answered = recv(fd, &reply, reply.count, 0) > 0 && reply.starts(with: Array("VERSION".utf8))
                }
            }
            close(fd)
            if answered { return true }
            usleep(20_000)
        }
        return false
    }

    nonisolated(unsafe) private static var nodeDaemon: NodeDaemon?
    nonisolated(unsafe) private static var indexDaemon: IndexDaemon?

    /// One flared for the whole test process (memory storage, two workers, no index servers).
    public static func node(dataDir: String) throws -> NodeDaemon {
        if let nodeDaemon { return nodeDaemon }
        let port = freePort()
        guard case .run(let settings) = try DaemonCommandLine.parseNode(arguments: [
            "--data-dir", dataDir, "--server-address", "127.0.0.1", "--server-port", String(port),
            "--storage-type", "memory", "--thread-pool-size", "2"]) else {
            throw HandlerFuzzer.Finding(property: "flared's test settings were not accepted", input: [], reply: [])
        }
        let daemon = NodeDaemon(settings: settings, logger: logger)
        DaemonThread { try? daemon.run() }.start()
        guard waitForPort(port) else { throw HandlerFuzzer.Finding(property: "flared did not start", input: [], reply: []) }
        nodeDaemon = daemon
        return daemon
    }

    /// One flarei for the whole test process; its monitors give up on a node after 100 ms.
    public static func index(dataDir: String) throws -> IndexDaemon {
        if let indexDaemon { return indexDaemon }
        let port = freePort()
        guard case .run(let settings) = try DaemonCommandLine.parseIndex(arguments: [
            "--data-dir", dataDir, "--server-address", "127.0.0.1", "--server-port", String(port),
            "--monitor-interval", "1", "--monitor-threshold", "1", "--monitor-read-timeout", "100"]) else {
            throw HandlerFuzzer.Finding(property: "flarei's test settings were not accepted", input: [], reply: [])
        }
        let daemon = IndexDaemon(settings: settings, logger: logger)
        DaemonThread { try? daemon.run() }.start()
        guard waitForPort(port) else { throw HandlerFuzzer.Finding(property: "flarei did not start", input: [], reply: []) }
        indexDaemon = daemon
        return daemon
    }
}
