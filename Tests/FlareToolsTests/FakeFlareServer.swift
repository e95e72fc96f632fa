import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A listening socket on 127.0.0.1 that plays a flare daemon for the wire-dialogue tests: it
/// answers `version` and `quit` like flare 1.3.4, hands every other request line to `reply`,
/// and records every line it received (data blocks of `set` included, as `<data> …`).
final class FakeFlareServer: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var lines: [String] = []
    private let reply: @Sendable (String) -> String
    private let answersQuit: Bool

    /// `reply` returns the exact bytes to send for a request line (transcript text with `\r\n`).
    /// `answersQuit`: flarei answers `quit` with `END`; flared just closes the connection.
    init(answersQuit: Bool = true, reply: @escaping @Sendable (String) -> String) throws {
        self.reply = reply
        self.answersQuit = answersQuit
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(fd, $0, &length) }
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    var endpointText: String { "127.0.0.1:\(port)" }

    /// Every line received so far, in arrival order over all connections.
    var received: [String] {
        lock.lock()
        defer { lock.unlock() }
        return lines
    }

    /// The received requests without the session lines (`version`, `quit`) every connection has.
    var requests: [String] { received.filter { $0 != "version" && $0 != "quit" } }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func acceptLoop() {
        while true {
            let connection = accept(listener, nil, nil)
            if connection < 0 { return }
            let thread = Thread { [self] in serve(connection) }
            thread.start()
        }
    }

    private func record(_ line: String) {
        lock.lock()
        lines.append(line)
        lock.unlock()
    }

    private func serve(_ connection: Int32) {
        defer { close(connection) }
        var pending: [UInt8] = []
        func nextLine() -> String? {
            while true {
                if let newline = pending.firstIndex(of: 0x0A) {
                    var line = Array(pending[..<newline])
                    pending.removeFirst(newline + 1)
                    if line.last == 0x0D { line.removeLast() }
                    return String(decoding: line, as: UTF8.self)
                }
                var chunk = [UInt8](repeating: 0, count: 4096)
                let count = recv(connection, &chunk, chunk.count, 0)
                if count <= 0 { return nil }
                pending += chunk[0..<count]
            }
        }
        func send(_ text: String) {
            let bytes = Array(text.utf8)
            _ = bytes.withUnsafeBytes { Glibc.send(connection, $0.baseAddress!, bytes.count, Int32(MSG_NOSIGNAL)) }
        }
        while let line = nextLine() {
            record(line)
            switch line {
            case "version":
                send("VERSION flare-1.3.4\r\n")
            case "quit":
                if answersQuit { send("END\r\n") }
                return
            default:
                if line.hasPrefix("set "), let data = nextLine() { record("<data> \(data)") }
                send(reply(line))
            }
        }
    }
}

/// Mutable state shared between a test and its fake server's reply closure.
final class Shared<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    func with<T>(_ body: (inout Value) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}

/// `stats nodes` reply bytes for (key, role, state, partition, balance, thread type) tuples.
func statsNodesReply(_ nodes: [(String, String, String, Int, Int, Int)]) -> String {
    nodes.map { key, role, state, partition, balance, threadType in
        "STAT \(key):role \(role)\r\nSTAT \(key):state \(state)\r\nSTAT \(key):partition \(partition)\r\n"
            + "STAT \(key):balance \(balance)\r\nSTAT \(key):thread_type \(threadType)\r\n"
    }.joined() + "END\r\n"
}

/// A node's `stats` reply with the fields the tools read.
func nodeStatsReply(items: Int, connections: Int = 2, gets: Int = 0, hits: Int = 0, sets: Int = 0, bytes: Int = 0,
                    uptime: Int = 111) -> String {
    ["STAT pid 10927", "STAT uptime \(uptime)", "STAT time 1795309129", "STAT version 1.3.4", "STAT pointer_size 64",
     "STAT curr_items \(items)", "STAT bytes \(bytes)", "STAT curr_connections \(connections)", "STAT cmd_get \(gets)",
     "STAT cmd_set \(sets)", "STAT get_hits \(hits)", "STAT node_map_version 2", "END"].map { $0 + "\r\n" }.joined()
}
