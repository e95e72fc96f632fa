#if canImport(Glibc)
import Glibc
#endif

/// Why a socket step failed, before it is turned into a ToolError naming the peer and request.
enum SocketFailure: Error, Equatable {
    case timedOut
    case closed
    case system(String)

    var reason: String {
        switch self {
        case .timedOut: return String(cString: strerror(ETIMEDOUT))
        case .closed: return "connection closed by peer"
        case .system(let text): return text
        }
    }
}

/// A blocking TCP connection with a read buffer. Every step takes a deadline and waits with
/// poll(2), so a silent server can never hang the tool beyond the configured timeout.
final class SocketStream {
    private var descriptor: Int32
    private var buffer: [UInt8] = []
    private var readIndex = 0

    private init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    deinit { close() }

    /// Resolves `host` and connects to the first address that accepts within `timeout` seconds.
    static func connect(host: String, port: String, timeout: Double) throws -> SocketStream {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, port, &hints, &list)
        guard status == 0, let first = list else {
            throw SocketFailure.system(String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(list) }
        let deadline = Deadline.after(seconds: timeout)
        var failure = SocketFailure.system("no address")
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let info = entry {
            entry = info.pointee.ai_next
            do {
                return SocketStream(descriptor: try connectOne(info.pointee, deadline: deadline))
            } catch let error as SocketFailure {
                failure = error
            }
        }
        throw failure
    }

    /// Non-blocking connect + poll is the only portable way to bound the connect time.
    private static func connectOne(_ info: addrinfo, deadline: Deadline) throws -> Int32 {
        let fd = socket(info.ai_family, info.ai_socktype, info.ai_protocol)
        guard fd >= 0 else { throw SocketFailure.system(String(cString: strerror(errno))) }
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        if Glibc.connect(fd, info.ai_addr, info.ai_addrlen) != 0 {
            guard errno == EINPROGRESS else {
                let reason = String(cString: strerror(errno))
                Glibc.close(fd)
                throw SocketFailure.system(reason)
            }
            var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let ready = poll(&poller, 1, deadline.pollMilliseconds)
            if ready <= 0 {
                Glibc.close(fd)
                throw SocketFailure.timedOut
            }
            var code: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length)
            if code != 0 {
                Glibc.close(fd)
                throw SocketFailure.system(String(cString: strerror(code)))
            }
        }
        _ = fcntl(fd, F_SETFL, flags)
        return fd
    }

    var isOpen: Bool { descriptor >= 0 }

    func close() {
        if descriptor >= 0 {
            Glibc.close(descriptor)
            descriptor = -1
        }
    }

    func write(_ bytes: [UInt8], deadline: Deadline) throws {
        var offset = 0
        while offset < bytes.count {
            try wait(for: Int16(POLLOUT), deadline: deadline)
            let sent = bytes.withUnsafeBytes { raw in
                Glibc.send(descriptor, raw.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw SocketFailure.system(String(cString: strerror(errno)))
            }
            offset += sent
        }
    }

    /// One line without its terminator; a `\r` before the `\n` is dropped, as flare itself does.
    func readLine(deadline: Deadline) throws -> [UInt8] {
        // Bytes already searched, relative to readIndex: fill() may compact the buffer.
        var scanned = 0
        while true {
            if let newline = buffer[(readIndex + scanned)...].firstIndex(of: 0x0A) {
                var end = newline
                if end > readIndex && buffer[end - 1] == 0x0D { end -= 1 }
                let line = Array(buffer[readIndex..<end])
                readIndex = newline + 1
                return line
            }
            scanned = buffer.count - readIndex
            try fill(deadline: deadline)
        }
    }

    func readExactly(_ count: Int, deadline: Deadline) throws -> [UInt8] {
        while buffer.count - readIndex < count {
            try fill(deadline: deadline)
        }
        let bytes = Array(buffer[readIndex..<(readIndex + count)])
        readIndex += count
        return bytes
    }

    private func fill(deadline: Deadline) throws {
        if readIndex > 0 && readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            readIndex = 0
        } else if readIndex > 65536 {
            buffer.removeFirst(readIndex)
            readIndex = 0
        }
        try wait(for: Int16(POLLIN), deadline: deadline)
        var chunk = [UInt8](repeating: 0, count: 65536)
        let received = chunk.withUnsafeMutableBytes { raw in
            recv(descriptor, raw.baseAddress!, raw.count, 0)
        }
        if received == 0 { throw SocketFailure.closed }
        if received < 0 {
            if errno == EINTR || errno == EAGAIN { return }
            throw SocketFailure.system(String(cString: strerror(errno)))
        }
        buffer.append(contentsOf: chunk[0..<received])
    }

    private func wait(for events: Int16, deadline: Deadline) throws {
        guard descriptor >= 0 else { throw SocketFailure.closed }
        while true {
            var poller = pollfd(fd: descriptor, events: events, revents: 0)
            let ready = poll(&poller, 1, deadline.pollMilliseconds)
            if ready > 0 { return }
            if ready == 0 { throw SocketFailure.timedOut }
            if errno != EINTR { throw SocketFailure.system(String(cString: strerror(errno))) }
        }
    }
}
