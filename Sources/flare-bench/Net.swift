import Glibc

/// Monotonic clock in nanoseconds.
@inline(__always)
func nowNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// Prints `flare-bench: <message>` on stderr and exits with status 1. Usable from any thread.
func die(_ message: String) -> Never {
    let line = "flare-bench: \(message)\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
    exit(1)
}

/// Prints a progress line on stderr (stdout is reserved for the result).
func note(_ message: String) {
    let line = "\(message)\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
}

func errnoText(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}

/// A resolved server address, copied out of getaddrinfo.
struct ServerAddress {
    var storage = sockaddr_storage()
    var length: socklen_t = 0
    var family: Int32 = 0
    let display: String

    init(host: String, port: Int) throws(BenchError) {
        display = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var res: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &res)
        guard rc == 0, let ai = res else {
            throw BenchError("cannot resolve host '\(host)': \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(res) }
        family = ai.pointee.ai_family
        length = ai.pointee.ai_addrlen
        withUnsafeMutableBytes(of: &storage) { dst in
            _ = memcpy(dst.baseAddress!, ai.pointee.ai_addr, Int(ai.pointee.ai_addrlen))
        }
    }

    /// Opens a TCP connection (blocking connect), then makes it non-blocking with TCP_NODELAY.
    func connectNonBlocking() throws(BenchError) -> Int32 {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw BenchError("socket(): \(errnoText())") }
        var addr = storage
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, length) }
        }
        if rc != 0 {
            let e = errno
            close(fd)
            throw BenchError("cannot connect to \(display): \(errnoText(e))")
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        return fd
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
