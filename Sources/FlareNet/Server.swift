#if canImport(Glibc)
import Glibc
#endif
import Atomics
import Synchronization
internal import CLibevent
import Logging

public struct ServerOptions: Sendable {
    /// IPv4 addresses to listen on, one socket each (`0.0.0.0` = every address).
    public var addresses: [String]
    public var port: Int
    public var backlog: Int
    public var workers: Int
    public var maxConnections: Int
    public var readTimeoutSeconds: Int

    public init(addresses: [String] = ["127.0.0.1"], port: Int, backlog: Int = 30, workers: Int = 4,
                maxConnections: Int = 128, readTimeoutSeconds: Int = 600) {
        self.addresses = addresses
        self.port = port
        self.backlog = backlog
        self.workers = workers
        self.maxConnections = maxConnections
        self.readTimeoutSeconds = readTimeoutSeconds
    }
}

/// Listening sockets bound and listening, not yet served: connections queue in the kernel until a
/// `Server` adopts them and runs. Closed on deinit unless adopted.
public final class ListeningSockets: @unchecked Sendable {
    private var fds: [Int32] = []

    public init(addresses: [String], port: Int, backlog: Int) throws(NetError) {
        for address in addresses {
            fds.append(try Server.listeningSocket(address: address, port: port, backlog: backlog))
        }
    }

    fileprivate func take() -> [Int32] {
        defer { fds = [] }
        return fds
    }

    deinit {
        for fd in fds { Glibc.close(fd) }
    }
}

/// What `stats threads` and `kill` see of a connection.
public struct ConnectionInfo: Sendable {
    public let id: Int
    public let peer: String
    public let openedAt: Int64
    /// `Command` raw value + 1 of the request being executed, 0 when waiting.
    public let activity: UInt8
}

/// The listener and the worker threads.
///
/// The main thread runs the listening socket, signals and timers on its own event base; accepted
/// sockets go round-robin to the workers. `maxConnections` and `readTimeoutSeconds` may be changed by
/// a reload on the main thread and are read by workers (atomics).
public final class Server: @unchecked Sendable {
    public let clock = ServerClock()
    public let logger: Logger
    public private(set) var workers: [Worker] = []
    private let options: ServerOptions
    private let mainBase: OpaquePointer
    private var listenFDs: [Int32] = []
    private var listenEvents: [OpaquePointer] = []
    private var mainEvents: [OpaquePointer] = []
    private var callbacks: [EventCallback] = []
    private var nextWorker = 0
    private let nextConnectionID = ManagedAtomic<Int>(1)
    private let openConnections = ManagedAtomic<Int>(0)
    private let maxConnectionsValue: ManagedAtomic<Int>
    private let readTimeoutValue: ManagedAtomic<Int>
    /// Open connections by id: written on connect/close by their workers, read by `stats threads`
    /// and `kill` on any request thread.
    private let registry = Mutex<[Int: Connection]>([:])

    public init(options: ServerOptions, logger: Logger, makeHandler: (Worker) -> ConnectionHandler) throws(NetError) {
        self.options = options
        self.logger = logger
        maxConnectionsValue = ManagedAtomic(options.maxConnections)
        readTimeoutValue = ManagedAtomic(options.readTimeoutSeconds)
        guard let base = event_base_new() else { throw .eventBase }
        mainBase = base
        for i in 0..<max(1, options.workers) {
            let worker = try Worker(index: i, server: self)
            worker.install(handler: makeHandler(worker))
            workers.append(worker)
        }
    }

    public var maxConnections: Int {
        get { maxConnectionsValue.load(ordering: .relaxed) }
        set { maxConnectionsValue.store(newValue, ordering: .relaxed) }
    }

    public var readTimeoutSeconds: Int {
        get { readTimeoutValue.load(ordering: .relaxed) }
        set { readTimeoutValue.store(newValue, ordering: .relaxed) }
    }

    public var currentConnections: Int { openConnections.load(ordering: .relaxed) }

    /// A process-unique id, shared by connections and other "threads" listed in `stats threads`
    /// (such as the index's node monitors), so `kill <id>` is never ambiguous.
    public func allocateID() -> Int { nextConnectionID.loadThenWrappingIncrement(ordering: .relaxed) }

    /// Binds the listening sockets. Separate from `run` so start-up errors surface before daemonizing work.
    public func bind() throws(NetError) {
        adopt(try ListeningSockets(addresses: options.addresses, port: options.port, backlog: options.backlog))
    }

    /// Takes sockets bound earlier (a daemon binds first thing, so clients connecting while it
    /// opens its storage wait in the kernel's backlog instead of being refused).
    public func adopt(_ sockets: ListeningSockets) {
        listenFDs.append(contentsOf: sockets.take())
    }

    fileprivate static func listeningSocket(address: String, port: Int, backlog: Int) throws(NetError) -> Int32 {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, address, &addr.sin_addr) == 1 else {
            throw .resolve(address: address)
        }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if bound != 0 {
            let code = errno
            Glibc.close(fd)
            throw .bind(address: address, port: port, errno: code)
        }
        if listen(fd, Int32(max(backlog, 1))) != 0 {
            let code = errno
            Glibc.close(fd)
            throw .listen(port: port, errno: code)
        }
        return fd
    }

    /// Runs `action` on the main thread whenever `signal` arrives.
    public func onSignal(_ signal: Int32, _ action: @escaping () -> Void) {
        addMainEvent(fd: signal, flags: Int16(EV_SIGNAL | EV_PERSIST), interval: nil, action)
    }

    /// Runs `action` on the main thread every `seconds`.
    public func every(seconds: Double, _ action: @escaping () -> Void) {
        addMainEvent(fd: -1, flags: Int16(EV_PERSIST), interval: seconds, action)
    }

    private func addMainEvent(fd: Int32, flags: Int16, interval: Double?, _ action: @escaping () -> Void) {
        let callback = EventCallback(action)
        callbacks.append(callback)
        let ev = event_new(mainBase, fd, flags, mainEventCallback, Unmanaged.passUnretained(callback).toOpaque())!
        if let interval {
            var tv = timeval(tv_sec: Int(interval), tv_usec: Int((interval - Double(Int(interval))) * 1_000_000))
            event_add(ev, &tv)
        } else {
            event_add(ev, nil)
        }
        mainEvents.append(ev)
    }

    /// Starts the workers and serves until `stop()`; returns after every worker has finished.
    public func run() throws(NetError) {
        signal(SIGPIPE, SIG_IGN)
        for worker in workers { try worker.start() }
        every(seconds: 1) { [clock] in clock.refresh() }
        for fd in listenFDs {
            // libevent hands the socket back to the callback, so one callback serves every address.
            let ev = event_new(mainBase, fd, Int16(EV_READ | EV_PERSIST), acceptCallback,
                               Unmanaged.passUnretained(self).toOpaque())!
            event_add(ev, nil)
            listenEvents.append(ev)
        }
        event_base_dispatch(mainBase)
        for worker in workers { worker.join() }
    }

    /// Stops accepting, closes every connection and ends `run`. Main thread only.
    public func stop() {
        for ev in listenEvents {
            event_del(ev)
            event_free(ev)
        }
        listenEvents.removeAll()
        if let resumeAcceptEvent {
            event_del(resumeAcceptEvent)
            event_free(resumeAcceptEvent)
            self.resumeAcceptEvent = nil
        }
        for fd in listenFDs { Glibc.close(fd) }
        listenFDs.removeAll()
        for worker in workers { worker.stop() }
        event_base_loopbreak(mainBase)
    }

    fileprivate func acceptConnections(on listenFD: Int32) {
        while true {
            var addr = sockaddr_in()
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            let fd = withUnsafeMutablePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    accept(listenFD, $0, &len)
                }
            }
            if fd < 0 {
                if errno == EINTR { continue }
                if errno == EMFILE || errno == ENFILE { pauseAccepting() }
                return
            }
            if openConnections.load(ordering: .relaxed) >= maxConnections {
                let refusal: StaticString = "SERVER_ERROR too many open connections\r\n"
                _ = send(fd, refusal.utf8Start, refusal.utf8CodeUnitCount, Int32(MSG_NOSIGNAL))
                Glibc.close(fd)
                logger.warning("refused a connection: max-connection (\(maxConnections)) reached")
                continue
            }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            openConnections.wrappingIncrement(ordering: .relaxed)
            let peer = Server.describe(addr)
            let id = nextConnectionID.loadThenWrappingIncrement(ordering: .relaxed)
            let worker = workers[nextWorker]
            nextWorker = (nextWorker + 1) % workers.count
            worker.post { worker.adopt(fd: fd, id: id, peer: peer) }
        }
    }

    /// Serves an already connected socket as if it had been accepted from `peer` (takes ownership
    /// of `fd`). Any thread. For in-process drivers such as the handler fuzzer, which talk to the
    /// real workers over socket pairs.
    public func adopt(connectedSocket fd: Int32, peer: String) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        openConnections.wrappingIncrement(ordering: .relaxed)
        let id = nextConnectionID.loadThenWrappingIncrement(ordering: .relaxed)
        let worker = workers[id % workers.count]
        worker.post { worker.adopt(fd: fd, id: id, peer: peer) }
    }

    /// Out of file descriptors, the pending connection stays in the listen queue and the listening
    /// socket stays readable: accepting again at once would spin. As memcached does, stop accepting
    /// for a moment (`acceptPauseMilliseconds`) and try again; say so once per episode.
    private func pauseAccepting() {
        guard !listenEvents.isEmpty, !acceptPaused else { return }
        acceptPaused = true
        for ev in listenEvents { event_del(ev) }
        acceptPauses.wrappingIncrement(ordering: .relaxed)
        if !warnedOutOfDescriptors {
            warnedOutOfDescriptors = true
            logger.error("accept failed: out of file descriptors; not accepting for \(Self.acceptPauseMilliseconds) ms at a time until some close (raise the open-files limit or lower max-connection)")
        }
        if resumeAcceptEvent == nil {
            resumeAcceptEvent = event_new(mainBase, -1, 0, resumeAcceptCallback, Unmanaged.passUnretained(self).toOpaque())
        }
        var tv = timeval(tv_sec: 0, tv_usec: Self.acceptPauseMilliseconds * 1000)
        event_add(resumeAcceptEvent, &tv)
    }

    fileprivate func resumeAccepting() {
        acceptPaused = false
        guard !listenEvents.isEmpty else { return }
        for ev in listenEvents { event_add(ev, nil) }
        // Accept what waited meanwhile; out of descriptors still, this pauses again.
        for fd in listenFDs where !acceptPaused { acceptConnections(on: fd) }
        if !acceptPaused { warnedOutOfDescriptors = false }
    }

    static let acceptPauseMilliseconds = 100
    private var acceptPaused = false
    private var warnedOutOfDescriptors = false
    private var resumeAcceptEvent: OpaquePointer?
    /// How often accepting paused for lack of file descriptors.
    public let acceptPauses = ManagedAtomic<Int>(0)

    private static func describe(_ addr: sockaddr_in) -> String {
        var a = addr.sin_addr
        var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        inet_ntop(AF_INET, &a, &text, socklen_t(INET_ADDRSTRLEN))
        let host = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "\(host):\(UInt16(bigEndian: addr.sin_port))"
    }

    // MARK: Connection registry (connect/close only)

    func register(_ connection: Connection) {
        registry.withLock { $0[connection.id] = connection }
    }

    func unregister(_ connection: Connection) {
        registry.withLock { $0[connection.id] = nil }
        openConnections.wrappingDecrement(ordering: .relaxed)
    }

    /// The open connections, ordered by id, for `stats threads`.
    public func connectionInfos() -> [ConnectionInfo] {
        registry.withLock {
            $0.values.map {
                ConnectionInfo(id: $0.id, peer: $0.peer, openedAt: $0.openedAt,
                               activity: $0.activity.load(ordering: .relaxed))
            }
        }.sorted { $0.id < $1.id }
    }

    /// Closes connection `id` on its worker (`kill`). Returns false if there is no such connection.
    public func closeConnection(id: Int) -> Bool {
        guard let worker = registry.withLock({ $0[id]?.worker }) else { return false }
        worker.post { worker.closeConnection(id: id) }
        return true
    }

    /// Sums a socket counter over all workers.
    public func netCounter(_ index: Int) -> UInt64 {
        workers.reduce(0) { $0 &+ $1.counters.value(index) }
    }
}

/// Boxes a Swift closure so a C callback can reach it through its `void *` argument.
final class EventCallback {
    let action: () -> Void
    init(_ action: @escaping () -> Void) { self.action = action }
}

private func mainEventCallback(_ fd: Int32, _ what: Int16, _ arg: UnsafeMutableRawPointer?) {
    Unmanaged<EventCallback>.fromOpaque(arg!).takeUnretainedValue().action()
}

private func resumeAcceptCallback(_ fd: Int32, _ what: Int16, _ arg: UnsafeMutableRawPointer?) {
    Unmanaged<Server>.fromOpaque(arg!).takeUnretainedValue().resumeAccepting()
}

private func acceptCallback(_ fd: Int32, _ what: Int16, _ arg: UnsafeMutableRawPointer?) {
    Unmanaged<Server>.fromOpaque(arg!).takeUnretainedValue().acceptConnections(on: fd)
}
