#if canImport(Glibc)
import Glibc
#endif

/// Minimal blocking line-protocol client for the daemons' background talks with each other
/// (node ↔ index). Used off the event loops only: every call may block up to the socket's timeout.
public enum LineClient {
    /// Connects with a deadline that also bounds every later read and write on the socket;
    /// from the local IPv4 address `source` when given.
    public static func connect(host: String, port: Int, timeoutMilliseconds: Int, from source: String? = nil) -> Int32? {
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let info = result else { return nil }
        defer { freeaddrinfo(result) }
        let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, 0)
        guard fd >= 0 else { return nil }
        setTimeout(fd, milliseconds: timeoutMilliseconds)
        // Best effort: a source that is a host name (or not local) leaves the choice to the kernel.
        if let source { _ = bind(fd, to: source) }
        guard Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    public static func send(_ fd: Int32, _ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = Glibc.send(fd, bytes.baseAddress! + offset, bytes.count - offset, LineClient.noSignal)
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
    }

    /// Reads one line without its line ending; nil on timeout, EOF or an over-long line.
    /// Peeks at what has arrived and takes only up to the line's end, so the bytes of later lines
    /// stay in the socket for the next call (callers keep no buffer) at two system calls a line.
    public static func readLine(_ fd: Int32, limit: Int = 65536) -> String? {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count <= limit {
            let peeked = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, LineClient.peek) }
            if peeked <= 0 { return nil }
            let end = chunk[0..<peeked].firstIndex(of: 0x0A)
            let take = end.map { $0 + 1 } ?? peeked
            let taken = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, take, 0) }
            guard taken == take else { return nil }
            bytes.append(contentsOf: chunk[0..<take])
            if end != nil {
                bytes.removeLast()
                if bytes.last == 0x0D { bytes.removeLast() }
                return bytes.count <= limit ? String(decoding: bytes, as: UTF8.self) : nil
            }
        }
        return nil
    }
}

extension LineClient {
    /// Binds `fd` to a local IPv4 address (any port); false if it is not one of this host's.
    static func bind(_ fd: Int32, to address: String) -> Bool {
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        guard inet_pton(AF_INET, address, &local.sin_addr) == 1 else { return false }
        return withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// Bounds every later read and write on `fd`.
    public static func setTimeout(_ fd: Int32, milliseconds: Int) {
        var tv = timeval(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Drops bytes already received (late replies to a request that timed out).
    public static func discardUnread(_ fd: Int32) {
        var scratch = [UInt8](repeating: 0, count: 4096)
        while recv(fd, &scratch, scratch.count, LineClient.dontWait) > 0 {}
    }
}

extension LineClient {
    // Linux's values; Glibc's Swift overlay does not export these two flags.
    static let noSignal: Int32 = 0x4000  // MSG_NOSIGNAL: a closed peer is an error, not SIGPIPE
    static let dontWait: Int32 = 0x40    // MSG_DONTWAIT
    static let peek: Int32 = 0x2         // MSG_PEEK
}
