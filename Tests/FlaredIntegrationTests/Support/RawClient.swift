#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Errors of the raw socket client; each carries what had arrived so a failure shows the bytes.
enum RawClientError: Error, CustomStringConvertible {
    case connect(port: UInt16, errno: Int32)
    case send(errno: Int32)
    case timeout(waitingFor: String, received: [UInt8])
    case closed(waitingFor: String, received: [UInt8])

    var description: String {
        switch self {
        case let .connect(port, code): "connect to 127.0.0.1:\(port) failed: \(String(cString: strerror(code)))"
        case let .send(code): "send failed: \(String(cString: strerror(code)))"
        case let .timeout(what, received): "timed out waiting for \(what); received \(received.count) bytes: \(Bytes.show(received))"
        case let .closed(what, received): "connection closed while waiting for \(what); received \(received.count) bytes: \(Bytes.show(received))"
        }
    }
}

/// A blocking TCP client for exact-byte protocol tests: it sends exactly the given bytes and reads
/// replies by length, by terminator, or until the line goes quiet or is closed. Every wait is bounded.
final class RawClient: @unchecked Sendable {
    let fd: Int32
    let port: UInt16
    /// Bytes received but not yet handed to a caller.
    private var pending: [UInt8] = []
    private(set) var isClosedByPeer = false
    private var closedLocally = false
    /// Set once a read expecting data timed out: the exchange is broken, so later reads give up
    /// after `stalledTimeout` instead of waiting their full bound again (a failing test stays fast).
    private var stalled = false

    /// Default bound of every read that expects data.
    static let defaultTimeout: Double = 5
    static let stalledTimeout: Double = 0.5

    init(port: UInt16, host: String = "127.0.0.1", noDelay: Bool = true) throws {
        self.port = port
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw RawClientError.connect(port: port, errno: errno) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr(host)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if rc != 0 {
            let code = errno
            Glibc.close(fd)
            throw RawClientError.connect(port: port, errno: code)
        }
        if noDelay {
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        }
    }

    deinit { close() }

    /// The client's own port, as the server sees it in `stats threads` (`peer 127.0.0.1:<port>`).
    var localPort: UInt16 {
        var addr = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return UInt16(bigEndian: addr.sin_port)
    }

    func close() {
        guard !closedLocally else { return }
        closedLocally = true
        Glibc.close(fd)
    }

    // MARK: Sending

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw RawClientError.send(errno: errno)
            }
            offset += n
        }
    }

    /// Sends `bytes` in pieces of `chunk` bytes, pausing `pauseMicroseconds` after every
    /// `pauseEvery` pieces, so the server sees the input split at every position.
    func sendSlowly(_ bytes: [UInt8], chunk: Int = 1, pauseEvery: Int = 5, pauseMicroseconds: UInt32 = 1000) throws {
        var offset = 0
        var pieces = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + chunk)
            try send(Array(bytes[offset..<end]))
            offset = end
            pieces += 1
            if pieces % pauseEvery == 0 { usleep(pauseMicroseconds) }
        }
    }

    // MARK: Receiving

    /// Waits up to `timeout` seconds for more input and appends it to `pending`.
    /// Returns false on timeout; sets `isClosedByPeer` on EOF or reset.
    @discardableResult
    private func fill(timeout: Double) -> Bool {
        if isClosedByPeer { return false }
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ms = Int32(max(0, min(Double(Int32.max), timeout * 1000)))
        let ready = poll(&pfd, 1, ms)
        if ready <= 0 { return false }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n > 0 {
            pending.append(contentsOf: chunk[0..<n])
            return true
        }
        if n < 0 && (errno == EINTR || errno == EAGAIN) { return true }
        isClosedByPeer = true
        return false
    }

    private func deadline(_ timeout: Double) -> Double {
        Clock.now() + (stalled ? min(timeout, RawClient.stalledTimeout) : timeout)
    }

    /// Exactly `count` bytes.
    func read(count: Int, timeout: Double = RawClient.defaultTimeout) throws -> [UInt8] {
        let end = deadline(timeout)
        while pending.count < count {
            let left = end - Clock.now()
            if left <= 0 {
                stalled = true
                throw RawClientError.timeout(waitingFor: "\(count) bytes", received: pending)
            }
            if !fill(timeout: left) && isClosedByPeer {
                throw RawClientError.closed(waitingFor: "\(count) bytes", received: pending)
            }
        }
        let out = Array(pending[0..<count])
        pending.removeFirst(count)
        return out
    }

    /// Everything up to and including the first occurrence of `terminator`.
    func read(until terminator: [UInt8], timeout: Double = RawClient.defaultTimeout) throws -> [UInt8] {
        let end = deadline(timeout)
        var searchFrom = 0
        while true {
            if let range = Bytes.find(terminator, in: pending, from: searchFrom) {
                let out = Array(pending[0..<range.upperBound])
                pending.removeFirst(range.upperBound)
                return out
            }
            searchFrom = max(0, pending.count - terminator.count + 1)
            let left = end - Clock.now()
            let what = "terminator \(Bytes.show(terminator))"
            if left <= 0 {
                stalled = true
                throw RawClientError.timeout(waitingFor: what, received: pending)
            }
            if !fill(timeout: left) && isClosedByPeer { throw RawClientError.closed(waitingFor: what, received: pending) }
        }
    }

    func read(until terminator: String, timeout: Double = RawClient.defaultTimeout) throws -> [UInt8] {
        try read(until: Array(terminator.utf8), timeout: timeout)
    }

    /// One line including its `\r\n`.
    func readLine(timeout: Double = RawClient.defaultTimeout) throws -> String {
        String(decoding: try read(until: [13, 10], timeout: timeout), as: UTF8.self)
    }

    /// Reads as many bytes as `expected` holds, but gives up early (after a short grace period to
    /// collect the rest of a wrong reply) as soon as what arrived cannot be a prefix of it.
    /// Returns what arrived, so the caller compares and reports exact bytes.
    func read(matching expected: [UInt8], timeout: Double = RawClient.defaultTimeout) -> [UInt8] {
        let end = deadline(timeout)
        var mismatchSeenAt: Double?
        var checked = 0  // pending[0..<checked] is known to equal expected[0..<checked]
        while true {
            if mismatchSeenAt == nil {
                let n = min(pending.count, expected.count)
                let same = pending.withUnsafeBufferPointer { p in
                    expected.withUnsafeBufferPointer { e in
                        n <= checked || memcmp(p.baseAddress! + checked, e.baseAddress! + checked, n - checked) == 0
                    }
                }
                if same { checked = max(checked, n) } else { mismatchSeenAt = Clock.now() }
            }
            if mismatchSeenAt == nil && pending.count >= expected.count {
                let out = Array(pending[0..<expected.count])
                pending.removeFirst(expected.count)
                return out
            }
            let now = Clock.now()
            var left = end - now
            if let seen = mismatchSeenAt { left = min(left, seen + 0.2 - now) }
            if left <= 0 {
                if mismatchSeenAt == nil { stalled = true }
                break
            }
            if !fill(timeout: left) && isClosedByPeer { break }
        }
        let out = pending
        pending.removeAll()
        return out
    }

    /// Collects whatever arrives until nothing more comes for `quiet` seconds (or `limit` passes).
    func readAvailable(quiet: Double = 0.2, limit: Double = RawClient.defaultTimeout) -> [UInt8] {
        let end = Clock.now() + limit
        while Clock.now() < end {
            if !fill(timeout: min(quiet, end - Clock.now())) { break }
        }
        let out = pending
        pending.removeAll()
        return out
    }

    /// Waits up to `timeout` for at least `count` bytes (a loaded machine may answer late), then
    /// takes whatever else arrives until `quiet` seconds pass without a byte.
    func read(atLeast count: Int, timeout: Double = RawClient.defaultTimeout, quiet: Double = 0.2) -> [UInt8] {
        let end = Clock.now() + timeout
        while pending.count < count && Clock.now() < end && !isClosedByPeer {
            _ = fill(timeout: end - Clock.now())
        }
        return readAvailable(quiet: quiet)
    }

    /// What arrived within `seconds` (normally nothing: the caller asserts it is empty).
    func receivedWithin(_ seconds: Double) -> [UInt8] {
        let end = Clock.now() + seconds
        while Clock.now() < end && !isClosedByPeer {
            fill(timeout: end - Clock.now())
        }
        let out = pending
        pending.removeAll()
        return out
    }

    /// Waits until the server closes the connection. Returns the bytes that arrived before the
    /// close, or nil if the connection was still open after `timeout`.
    func waitForClose(timeout: Double = RawClient.defaultTimeout) -> [UInt8]? {
        let end = deadline(timeout)
        while !isClosedByPeer {
            let left = end - Clock.now()
            if left <= 0 { return nil }
            fill(timeout: left)
        }
        let out = pending
        pending.removeAll()
        return out
    }
}

/// Monotonic seconds.
enum Clock {
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// Byte helpers for building requests and showing replies in failure messages.
enum Bytes {
    /// Printable rendering: `\r`, `\n`, `\t` and non-ASCII bytes are escaped; long input is shortened.
    static func show(_ bytes: [UInt8], limit: Int = 600) -> String {
        var out = ""
        for (i, b) in bytes.enumerated() {
            if i == limit {
                out += "…(+\(bytes.count - limit) bytes)"
                break
            }
            switch b {
            case 13: out += "\\r"
            case 10: out += "\\n"
            case 9: out += "\\t"
            case 92: out += "\\\\"
            case 32...126: out.append(Character(UnicodeScalar(b)))
            default: out += String(format: "\\x%02x", b)
            }
        }
        return "\"" + out + "\""
    }

    static func show(_ text: String) -> String { show(Array(text.utf8)) }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int = 0) -> Range<Int>? {
        guard !needle.isEmpty, haystack.count >= needle.count else { return nil }
        var i = max(0, start)
        let first = needle[0]
        while i + needle.count <= haystack.count {
            if haystack[i] == first && haystack[i..<(i + needle.count)].elementsEqual(needle) {
                return i..<(i + needle.count)
            }
            i += 1
        }
        return nil
    }

    /// Number of non-overlapping occurrences of `needle`.
    static func count(_ needle: String, in haystack: [UInt8]) -> Int {
        let n = Array(needle.utf8)
        var count = 0
        var from = 0
        while let r = find(n, in: haystack, from: from) {
            count += 1
            from = r.upperBound
        }
        return count
    }
}
