#if canImport(Glibc)
import Glibc
#endif
internal import CLibevent
import FlareProtocol

/// What an outbound connection's owner does with the bytes and events of the connection.
public protocol OutboundDelegate: AnyObject {
    /// Consumes complete replies from `input`; returns the bytes used.
    func outbound(_ connection: OutboundConnection, received input: UnsafeRawBufferPointer) -> Int
    /// The connection failed or was closed; pending work must be failed. Never called synchronously
    /// from `send` or `init`, so callers are not re-entered.
    func outboundClosed(_ connection: OutboundConnection, reason: String)
}

/// A non-blocking client connection to another daemon on a worker's event loop (node-to-node
/// forwarding). Owned and used by that worker's thread only.
public final class OutboundConnection: TurnEndWork {
    public let host: String
    public let port: Int
    public let output = ReplyBuffer()
    public weak var delegate: OutboundDelegate?
    private unowned let worker: Worker
    private var fd: Int32 = -1
    private var readEvent: OpaquePointer?
    private var writeEvent: OpaquePointer?
    /// Bounds a host-name lookup that runs elsewhere (see `connect`).
    private var resolveTimer: OpaquePointer?
    private var connected = false
    public private(set) var closed = false
    private var input: UnsafeMutableRawPointer
    private var inputCapacity = 64 * 1024
    private var inputStart = 0
    private var inputEnd = 0

    public init(host: String, port: Int, worker: Worker) {
        self.host = host
        self.port = port
        self.worker = worker
        input = UnsafeMutableRawPointer.allocate(byteCount: inputCapacity, alignment: 16)
    }

    deinit {
        input.deallocate()
        tearDown()
    }

    /// Starts connecting (set `delegate` first); failures arrive through `outboundClosed`. Never
    /// blocks: a host name that is not known yet is resolved by `HostResolver` off this loop, and
    /// `timeoutMilliseconds` bounds the lookup and the connect together.
    public func connect(timeoutMilliseconds: Int) {
        if let known = HostResolver.immediate(host) {
            guard let address = known else { failSoon("cannot resolve \(host)"); return }
            open(address, timeoutMilliseconds: timeoutMilliseconds)
            return
        }
        let started = ServerClock.monotonicMilliseconds()
        let me = Unmanaged.passUnretained(self).toOpaque()
        resolveTimer = event_new(worker.base, -1, 0, outboundResolveTimeoutCallback, me)
        var tv = timeval(tv_sec: timeoutMilliseconds / 1000, tv_usec: (timeoutMilliseconds % 1000) * 1000)
        event_add(resolveTimer, &tv)
        let target = WeakOutbound(self)
        HostResolver.resolve(host, on: worker) { address in
            // On this connection's worker, a later loop turn.
            guard let connection = target.connection, !connection.closed else { return }
            connection.freeResolveTimer()
            guard let address else { connection.fail("cannot resolve \(connection.host)"); return }
            let left = timeoutMilliseconds - Int(ServerClock.monotonicMilliseconds() - started)
            connection.open(address, timeoutMilliseconds: max(1, left))
        }
    }

    fileprivate func onResolveTimeout() {
        freeResolveTimer()
        fail("cannot resolve \(host): no answer within the connect timeout")
    }

    private func freeResolveTimer() {
        if let resolveTimer {
            event_del(resolveTimer)
            event_free(resolveTimer)
            self.resolveTimer = nil
        }
    }

    private func open(_ address: in_addr, timeoutMilliseconds: Int) {
        var peer = sockaddr_in()
        peer.sin_family = sa_family_t(AF_INET)
        peer.sin_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
        peer.sin_addr = address
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { failSoon("socket: \(errorText(errno))"); return }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let rc = withUnsafePointer(to: &peer) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc != 0 && errno != EINPROGRESS {
            failSoon("connect to \(host):\(port): \(errorText(errno))")
            return
        }
        let me = Unmanaged.passUnretained(self).toOpaque()
        readEvent = event_new(worker.base, fd, Int16(EV_READ | EV_PERSIST), outboundReadCallback, me)
        writeEvent = event_new(worker.base, fd, Int16(EV_WRITE | EV_PERSIST), outboundWriteCallback, me)
        // Connected when writable; a timeout on the write event bounds the connect.
        var tv = timeval(tv_sec: timeoutMilliseconds / 1000, tv_usec: (timeoutMilliseconds % 1000) * 1000)
        event_add(writeEvent, &tv)
    }

    /// Reports a failure from the event loop rather than from inside the caller.
    private func failSoon(_ reason: String) {
        worker.later { [weak self] in self?.fail(reason) }
    }

    /// Sends `output`'s bytes at the end of this loop turn, together with whatever else is
    /// appended before then: one system call for all requests of the turn.
    public func flushAtTurnEnd() {
        guard !flushScheduled else { return }
        flushScheduled = true
        worker.atTurnEnd(self)
    }

    private var flushScheduled = false

    public func turnEnded() {
        flushScheduled = false
        flush()
    }

    /// Queues `output`'s bytes for sending (call after appending to `output`).
    public func flush() {
        guard connected, !closed else { return }  // sent once the connect completes
        writeOut()
    }

    private func writeOut() {
        while !output.isEmpty {
            let pending = output.pending
            let n = send(fd, pending.baseAddress, pending.count, LineClient.noSignal)
            if n > 0 { output.consume(n); continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                if !writeArmed {
                    writeArmed = true
                    event_add(writeEvent, nil)
                }
                return
            }
            // `flush` runs inside the owner's request handling: close now, but report on a
            // later loop turn so the owner is not re-entered half-way through its work.
            let reason = "write to \(host):\(port): \(errorText(errno))"
            closed = true
            tearDown()
            worker.later { [weak self] in
                guard let self else { return }
                delegate?.outboundClosed(self, reason: reason)
            }
            return
        }
        // Only when armed: an event_del per flush showed in the proxy's profile.
        if writeArmed {
            writeArmed = false
            event_del(writeEvent)
        }
    }

    /// The write event is added (a send found the socket full).
    private var writeArmed = false

    fileprivate func onWritable(_ what: Int16) {
        if !connected {
            if what & Int16(EV_TIMEOUT) != 0 { fail("connect to \(host):\(port) timed out"); return }
            var code: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length)
            if code != 0 { fail("connect to \(host):\(port): \(errorText(code))"); return }
            connected = true
            event_del(writeEvent)
            writeArmed = false
            event_add(readEvent, nil)
        }
        writeOut()
    }

    /// The most a peer may make this connection buffer for one reply.
    public static let maximumInput = 256 << 20

    fileprivate func onReadable() {
        while !closed {
            if inputCapacity - inputEnd < 16 * 1024 { makeRoom(); if closed { return } }
            let free = inputCapacity - inputEnd
            let n = read(fd, input + inputEnd, free)
            if n > 0 {
                inputEnd += n
                deliver()
                // A short read drained the socket: skip the read that would only say EAGAIN.
                if n < free { return }
                continue
            }
            if n == 0 { fail("\(host):\(port) closed the connection"); return }
            if errno == EINTR { continue }
            if errno != EAGAIN && errno != EWOULDBLOCK { fail("read from \(host):\(port): \(errorText(errno))") }
            return
        }
    }

    private func deliver() {
        guard let delegate else { return }
        while inputEnd > inputStart && !closed {
            let used = delegate.outbound(self, received: UnsafeRawBufferPointer(start: input + inputStart, count: inputEnd - inputStart))
            if used == 0 { break }
            inputStart += used
        }
        if inputStart == inputEnd { inputStart = 0; inputEnd = 0 }
    }

    /// Compacts, then doubles the buffer if a reply is larger than it.
    private func makeRoom() {
        let live = inputEnd - inputStart
        if inputStart > 0 {
            memmove(input, input + inputStart, live)
            inputStart = 0
            inputEnd = live
        }
        if inputCapacity - inputEnd < 16 * 1024 {
            // A peer's reply may hold one value of up to a few tens of MiB; more than this is
            // a peer gone wrong, not a reply to wait for.
            guard inputCapacity < OutboundConnection.maximumInput else {
                fail("\(host):\(port) sent a reply larger than \(OutboundConnection.maximumInput >> 20) MiB")
                return
            }
            let bigger = UnsafeMutableRawPointer.allocate(byteCount: inputCapacity * 2, alignment: 16)
            bigger.copyMemory(from: input, byteCount: live)
            input.deallocate()
            input = bigger
            inputCapacity *= 2
        }
    }

    /// Closes the connection and tells the delegate once.
    public func fail(_ reason: String) {
        guard !closed else { return }
        closed = true
        tearDown()
        delegate?.outboundClosed(self, reason: reason)
    }

    private func tearDown() {
        freeResolveTimer()
        for ev in [readEvent, writeEvent] where ev != nil {
            event_del(ev)
            event_free(ev)
        }
        readEvent = nil
        writeEvent = nil
        if fd >= 0 { Glibc.close(fd); fd = -1 }
    }
}

private func outboundReadCallback(_ fd: Int32, _ what: Int16, _ arg: UnsafeMutableRawPointer?) {
    let connection = Unmanaged<OutboundConnection>.fromOpaque(arg!).takeUnretainedValue()
    withExtendedLifetime(connection) { connection.onReadable() }
}

private func outboundWriteCallback(_ fd: Int32, _ what: Int16, _ arg: UnsafeMutableRawPointer?) {
    let connection = Unmanaged<OutboundConnection>.fromOpaque(arg!).takeUnretainedValue()
    withExtendedLifetime(connection) { connection.onWritable(what) }
}

private func outboundResolveTimeoutCallback(_ fd: Int32, _ what: Int16, _ arg: UnsafeMutableRawPointer?) {
    let connection = Unmanaged<OutboundConnection>.fromOpaque(arg!).takeUnretainedValue()
    withExtendedLifetime(connection) { connection.onResolveTimeout() }
}

/// Lets a lookup finishing elsewhere find its connection, if it still exists, on the worker.
private final class WeakOutbound: @unchecked Sendable {
    weak var connection: OutboundConnection?
    init(_ connection: OutboundConnection) { self.connection = connection }
}
