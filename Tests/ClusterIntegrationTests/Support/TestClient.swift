import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Why a request to a daemon did not get its reply.
enum ClientError: Error, CustomStringConvertible {
    case connect(String, Int32)
    case timeout(String)
    case closed(String)
    case io(String, Int32)
    case unexpected(String, String)

    var description: String {
        switch self {
        case .connect(let peer, let code): return "connect to \(peer) failed: \(String(cString: strerror(code)))"
        case .timeout(let what): return "timed out waiting for \(what)"
        case .closed(let what): return "connection closed while waiting for \(what)"
        case .io(let what, let code): return "\(what): \(String(cString: strerror(code)))"
        case .unexpected(let request, let line): return "unexpected reply to '\(request)': \(line)"
        }
    }
}

/// A stored item as `get`/`gets` return it.
struct GotItem: Equatable, CustomStringConvertible {
    let flags: UInt32
    let value: String
    let cas: UInt64?
    var description: String { "flags=\(flags) value=\(value)" + (cas.map { " cas=\($0)" } ?? "") }
}

/// An item as `dump` streams it: `VALUE <key> <flags> <bytes> <version> <expire>`.
struct DumpedItem: Equatable, CustomStringConvertible {
    let flags: UInt32
    let value: String
    let version: UInt64
    let expire: Int64
    var description: String { "flags=\(flags) value=\(value) version=\(version) expire=\(expire)" }
}

/// One node's entry in `stats nodes`.
struct NodeEntryStat: Equatable, CustomStringConvertible {
    var role = ""
    var state = ""
    var partition = 0
    var balance = 0
    var threadType = 0
    var description: String { "\(role)/\(state) partition \(partition) balance \(balance) thread_type \(threadType)" }
}

/// A blocking memcached-text-protocol client over one TCP connection, with a receive timeout.
/// Used from one thread at a time.
final class TestClient {
    let host: String
    let port: Int
    private var fd: Int32
    private var buffer: [UInt8] = []
    private var start = 0

    var peer: String { "\(host):\(port)" }

    /// `source`: the local address to connect from (another 127.0.0.x poses as another host).
    init(host: String, port: Int, timeout: Double = 5, from source: String? = nil) throws {
        self.host = host
        self.port = port
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ClientError.io("socket", errno) }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            inet_pton(AF_INET, source, &local.sin_addr)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if bound != 0 {
                let code = errno
                Glibc.close(fd)
                throw ClientError.io("bind to \(source)", code)
            }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &address.sin_addr)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if result != 0 {
            let code = errno
            Glibc.close(fd)
            fd = -1
            throw ClientError.connect("\(host):\(port)", code)
        }
    }

    deinit { close() }

    var isOpen: Bool { fd >= 0 }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    /// Half-closes the connection (no more requests; replies can still be read), like `nc -q`.
    func finishSending() {
        if fd >= 0 { shutdown(fd, Int32(SHUT_WR)) }
    }

    /// Everything the server sends until it closes the connection.
    func readToEnd() throws -> String {
        while true {
            do {
                try fill("the rest of the replies")
            } catch ClientError.closed {
                break
            }
        }
        let text = String(decoding: buffer[start...], as: UTF8.self)
        start = buffer.count
        return text
    }

    /// Changes the receive timeout for the following reads.
    func setTimeout(_ seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ text: String) throws {
        try send(Array(text.utf8))
    }

    func send(_ bytes: [UInt8]) throws {
        guard fd >= 0 else { throw ClientError.closed("send") }
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ClientError.io("send to \(peer)", errno)
            }
            offset += n
        }
    }

    private func fill(_ what: String) throws {
        guard fd >= 0 else { throw ClientError.closed(what) }
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                buffer.append(contentsOf: chunk[0..<n])
                return
            }
            if n == 0 { throw ClientError.closed("\(what) from \(peer)") }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { throw ClientError.timeout("\(what) from \(peer)") }
            throw ClientError.io("recv from \(peer)", errno)
        }
    }

    /// Drops the consumed bytes (only between reads, so indexes stay valid while searching).
    private func compact() {
        if start > 0 && start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        } else if start > 1 << 20 {
            buffer.removeFirst(start)
            start = 0
        }
    }

    /// The next line without its `\r\n`.
    func readLine(_ what: String = "a reply") throws -> String {
        compact()
        var searched = start
        while true {
            if let newline = buffer[searched...].firstIndex(of: 0x0A) {
                var end = newline
                if end > start && buffer[end - 1] == 0x0D { end -= 1 }
                let line = String(decoding: buffer[start..<end], as: UTF8.self)
                start = newline + 1
                return line
            }
            searched = buffer.count
            try fill(what)
        }
    }

    func readBytes(_ count: Int, _ what: String = "data") throws -> [UInt8] {
        compact()
        while buffer.count - start < count { try fill(what) }
        let bytes = Array(buffer[start..<(start + count)])
        start += count
        return bytes
    }

    static let terminators: Set<String> = ["END", "OK", "STORED", "NOT_STORED", "EXISTS", "DELETED", "NOT_FOUND",
                                           "ERROR", "SERVER_ERROR", "CLIENT_ERROR", "TOUCHED"]

    /// Sends one request line and reads lines up to a terminator; returns them all (terminator last).
    func call(_ line: String) throws -> [String] {
        try send(line + "\r\n")
        var lines: [String] = []
        while true {
            let reply = try readLine("reply to '\(line)'")
            lines.append(reply)
            let first = reply.split(separator: " ", maxSplits: 1).first.map(String.init) ?? reply
            if Self.terminators.contains(first) || first == "VERSION" { return lines }
        }
    }

    /// One-line request, one-line reply.
    func line(_ request: String) throws -> String {
        try send(request + "\r\n")
        return try readLine("reply to '\(request)'")
    }

    /// `set`-family storage command; returns the reply line (nil with noreply).
    @discardableResult
    func store(_ command: String = "set", _ key: String, _ value: String, flags: UInt32 = 0, exptime: Int = 0,
               options: String = "") throws -> String? {
        let bytes = Array(value.utf8)
        var header = "\(command) \(key) \(flags) \(exptime) \(bytes.count)"
        if !options.isEmpty { header += " " + options }
        try send(Array((header + "\r\n").utf8) + bytes + [0x0D, 0x0A])
        if options.split(separator: " ").contains("noreply") { return nil }
        return try readLine("reply to '\(header)'")
    }

    func delete(_ key: String, options: String = "") throws -> String? {
        let request = "delete \(key)" + (options.isEmpty ? "" : " " + options)
        try send(request + "\r\n")
        if options.split(separator: " ").contains("noreply") { return nil }
        return try readLine("reply to '\(request)'")
    }

    /// `get`/`gets` of several keys: the hits by key.
    func get(_ keys: [String], command: String = "get") throws -> [String: GotItem] {
        let request = "\(command) " + keys.joined(separator: " ")
        try send(request + "\r\n")
        var items: [String: GotItem] = [:]
        while true {
            let line = try readLine("reply to '\(request.prefix(60))'")
            if line == "END" { return items }
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count >= 4, fields[0] == "VALUE", let flags = UInt32(fields[2]), let length = Int(fields[3]) else {
                throw ClientError.unexpected(String(request.prefix(60)), line)
            }
            let data = try readBytes(length + 2)
            items[fields[1]] = GotItem(flags: flags, value: String(decoding: data[0..<length], as: UTF8.self),
                                       cas: fields.count > 4 ? UInt64(fields[4]) : nil)
        }
    }

    func get(_ key: String) throws -> GotItem? { try get([key])[key] }

    /// `dump [args]`: every item the node stores locally.
    func dump(_ arguments: String = "") throws -> [String: DumpedItem] {
        let request = arguments.isEmpty ? "dump" : "dump \(arguments)"
        try send(request + "\r\n")
        var items: [String: DumpedItem] = [:]
        while true {
            let line = try readLine("reply to '\(request)'")
            if line == "END" { return items }
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count == 6, fields[0] == "VALUE", let flags = UInt32(fields[2]), let length = Int(fields[3]),
                  let version = UInt64(fields[4]), let expire = Int64(fields[5]) else {
                throw ClientError.unexpected(request, line)
            }
            let data = try readBytes(length + 2)
            items[fields[1]] = DumpedItem(flags: flags, value: String(decoding: data[0..<length], as: UTF8.self),
                                          version: version, expire: expire)
        }
    }

    /// `dump_key [args]`: the keys the node stores locally.
    func dumpKey(_ arguments: String = "") throws -> Set<String> {
        let request = arguments.isEmpty ? "dump_key" : "dump_key \(arguments)"
        try send(request + "\r\n")
        var keys = Set<String>()
        while true {
            let line = try readLine("reply to '\(request)'")
            if line == "END" { return keys }
            guard line.hasPrefix("KEY ") else { throw ClientError.unexpected(request, line) }
            keys.insert(String(line.dropFirst(4)))
        }
    }

    /// `stats nodes` by node key.
    func statsNodes() throws -> [String: NodeEntryStat] {
        let lines = try call("stats nodes")
        guard lines.last == "END" else { throw ClientError.unexpected("stats nodes", lines.last ?? "") }
        var nodes: [String: NodeEntryStat] = [:]
        for line in lines.dropLast() {
            // STAT host:port:key value
            let parts = line.split(separator: " ", maxSplits: 2).map(String.init)
            guard parts.count == 3, parts[0] == "STAT" else { throw ClientError.unexpected("stats nodes", line) }
            let path = parts[1].split(separator: ":").map(String.init)
            guard path.count == 3 else { throw ClientError.unexpected("stats nodes", line) }
            let key = path[0] + ":" + path[1]
            var entry = nodes[key] ?? NodeEntryStat()
            switch path[2] {
            case "role": entry.role = parts[2]
            case "state": entry.state = parts[2]
            case "partition": entry.partition = Int(parts[2]) ?? -99
            case "balance": entry.balance = Int(parts[2]) ?? -99
            case "thread_type": entry.threadType = Int(parts[2]) ?? -99
            default: throw ClientError.unexpected("stats nodes", line)
            }
            nodes[key] = entry
        }
        return nodes
    }

    /// `stats` as name → value.
    func stats() throws -> [String: String] {
        let lines = try call("stats")
        guard lines.last == "END" else { throw ClientError.unexpected("stats", lines.last ?? "") }
        var values: [String: String] = [:]
        for line in lines.dropLast() {
            let parts = line.split(separator: " ", maxSplits: 2).map(String.init)
            if parts.count == 3 { values[parts[1]] = parts[2] } else if parts.count == 2 { values[parts[1]] = "" }
        }
        return values
    }
}
