#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest

/// What one client can make a node hold: file descriptors (accept backs off when they run out),
/// pending delayed flushes (one at most), and the reply to one multi-get.
final class ResourceBoundsTests: FlaredTestCase {
    /// CPU seconds (user + system) the process has used, from /proc.
    private func cpuSeconds(_ pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the command name.
        let ticks = (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Out of file descriptors (RLIMIT_NOFILE lowered under the running daemon), accept pauses
    /// instead of spinning on EMFILE, and the node accepts again once descriptors are free.
    func testAcceptBacksOffWhenOutOfFileDescriptors() throws {
        let flared = try startFlared(["--max-connection", "1000"])
        let first = try connect(flared)
        try exchange(first, "version\r\n", "VERSION flare-1.3.4\r\n")
        let prlimit = Process()
        prlimit.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
        // Ten descriptors to spare; the listen queue (back-log 30) holds the connections beyond.
        let open = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(flared.pid)/fd").count
        prlimit.arguments = ["--pid", String(flared.pid), "--nofile=\(open + 10):\(open + 10)"]
        try prlimit.run()
        prlimit.waitUntilExit()
        XCTAssertEqual(prlimit.terminationStatus, 0, "prlimit failed")
        // More connections than descriptors: the last ones wait in the listen queue.
        var clients: [RawClient] = []
        for _ in 0..<25 { clients.append(try RawClient(port: flared.port)) }
        usleep(300_000)
        let before = cpuSeconds(flared.pid)
        usleep(2_000_000)
        let used = cpuSeconds(flared.pid) - before
        print("[ResourceBoundsTests] CPU used in 2 s at the descriptor limit: \(used) s")
        XCTAssertLessThan(used, 0.5, "accept spins on EMFILE")
        XCTAssertTrue(flared.waitForLog("out of file descriptors"), flared.stderrText)
        XCTAssertEqual(flared.stderrText.components(separatedBy: "out of file descriptors").count - 1, 1, "logged more than once")
        // Descriptors back: the queued connections are served and new ones accepted.
        for client in clients.dropLast() { client.close() }
        let last = clients.last!
        try exchange(last, "version\r\n", "VERSION flare-1.3.4\r\n", timeout: 5)
        let fresh = try connect(flared)
        try exchange(fresh, "version\r\n", "VERSION flare-1.3.4\r\n", timeout: 5)
        last.close()
        try exchange(first, "version\r\n", "VERSION flare-1.3.4\r\n")
    }

    /// memcached's rule: the last `flush_all` decides when the store empties, so a client sending
    /// many delayed flushes leaves one pending, and an immediate flush calls a pending one off.
    func testOnlyTheLastFlushAllCounts() throws {
        let flared = try startFlared()
        let client = try connect(flared)
        try exchange(client, "flush_all 1\r\n", "OK\r\n")
        for _ in 0..<2000 { try client.send("flush_all 100 noreply\r\n") }
        try exchange(client, "set a 0 0 1\r\nx\r\n", "STORED\r\n")
        try exchange(client, "flush_all 1\r\n", "OK\r\n")
        try exchange(client, "flush_all\r\n", "OK\r\n")
        try exchange(client, "set b 0 0 1\r\ny\r\n", "STORED\r\n")
        usleep(1_600_000)
        // Neither the first nor the replaced one-second flush ran.
        try exchange(client, "get b\r\n", "VALUE b 0 1\r\ny\r\nEND\r\n")
        try exchange(client, "flush_all 1\r\n", "OK\r\n")
        XCTAssertTrue(try eventually(timeout: 3) {
            try client.send("get b\r\n")
            return try client.readLine() == "END\r\n"
        }, "the pending flush never ran")
    }

    /// One multi-get naming a large item many times is refused once its reply passes the bound
    /// (twice the largest value, at least 64 MiB), and the connection goes on.
    func testMultiGetReplyIsBounded() throws {
        let flared = try startFlared(["--max-value-size", "1048576"])
        let client = try connect(flared)
        let value = String(repeating: "v", count: 1 << 20)
        try exchange(client, "set big 0 0 \(1 << 20)\r\n\(value)\r\n", "STORED\r\n")
        let tooMany = "get" + String(repeating: " big", count: 70) + "\r\n"
        try exchange(client, tooMany, "SERVER_ERROR out of memory writing get response\r\n", timeout: 10)
        try client.send("get" + String(repeating: " big", count: 60) + "\r\n")
        let reply = try client.read(until: "END\r\n", timeout: 20)
        XCTAssertEqual(reply.count, 60 * ((1 << 20) + "VALUE big 0 1048576\r\n\r\n".utf8.count) + 5)
        try exchange(client, "version\r\n", "VERSION flare-1.3.4\r\n")
    }

    /// An index that accepts connections and never answers: the node's registration and lease
    /// threads wait on it, its workers do not, so clients are answered as fast as ever.
    func testSilentIndexDoesNotSlowClients() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 ? getsockname(listener, $0, &length) : -1 }
        }
        XCTAssertEqual(listen(listener, 128), 0)
        let indexPort = UInt16(bigEndian: address.sin_port)
        let flared = try startFlared(["--index-servers", "127.0.0.1:\(indexPort)", "--thread-pool-size", "1"])
        let client = try connect(flared)
        try exchange(client, "set k 0 0 1\r\nv\r\n", "STORED\r\n")
        var slowest = 0.0
        let end = Clock.now() + 3
        while Clock.now() < end {
            let start = Clock.now()
            try exchange(client, "get k\r\n", "VALUE k 0 1\r\nv\r\nEND\r\n")
            slowest = max(slowest, Clock.now() - start)
            usleep(10_000)
        }
        print("[ResourceBoundsTests] slowest get while the index never answers: \(Int(slowest * 1000)) ms")
        XCTAssertLessThan(slowest, 0.25, "a worker waited for the index")
    }
}
