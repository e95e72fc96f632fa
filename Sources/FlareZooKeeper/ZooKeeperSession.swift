#if canImport(Glibc)
import Glibc
#endif
import CZooKeeper
import Dispatch
import Synchronization

/// What the ZooKeeper client reports on its own threads: the session's state, and the watches
/// set by `get`, `exists` and `children` with `watch: true` (each fires once).
public enum ZooKeeperEvent: Sendable, Equatable {
    case connected
    /// The connection to the ensemble was lost; the client tries the other servers. The session
    /// (and its ephemeral znodes) survives if it reconnects within the session timeout.
    case connecting
    /// The ensemble ended the session: its ephemeral znodes are gone; the handle is useless.
    case expired
    case nodeCreated(String)
    case nodeDeleted(String)
    case nodeChanged(String)
    case childrenChanged(String)
    /// Anything else the library reports (authentication failure, unknown states).
    case other(type: Int32, state: Int32)
}

/// One session with a ZooKeeper ensemble, through Debian's multi-threaded C client
/// (`libzookeeper_mt`). The calls are the library's synchronous ones: they block the calling
/// thread for one round trip and may be made from any thread except the library's own (the event
/// handler is called there, so it must hand events on, never call back in).
///
/// @unchecked: owns the C handle, which the library lets several threads use at once; nothing
/// else here is mutable.
public final class ZooKeeperSession: @unchecked Sendable {
    private let handle: OpaquePointer
    private let sink: Unmanaged<EventSink>
    /// The ensemble and chroot as given, for messages.
    public let connectString: String

    /// Keeps the event handler alive for as long as the C library may call it.
    private final class EventSink {
        let handler: @Sendable (ZooKeeperEvent) -> Void
        init(_ handler: @escaping @Sendable (ZooKeeperEvent) -> Void) { self.handler = handler }
    }

    /// Starts connecting (asynchronously: `.connected` arrives on the handler). `connectString`
    /// is `host:port[,host:port...][/chroot]`.
    public init(connectString: String, sessionTimeoutMilliseconds: Int32,
                onEvent: @escaping @Sendable (ZooKeeperEvent) -> Void) throws(ZooKeeperError) {
        ZooKeeperSession.configureLogging
        let sink = Unmanaged.passRetained(EventSink(onEvent))
        let watcher: watcher_fn = { _, type, state, path, context in
            guard let context else { return }
            let sink = Unmanaged<EventSink>.fromOpaque(context).takeUnretainedValue()
            sink.handler(ZooKeeperSession.event(type: type, state: state, path: path.map { String(cString: $0) } ?? ""))
        }
        guard let handle = zookeeper_init(connectString, watcher, sessionTimeoutMilliseconds, nil, sink.toOpaque(), 0) else {
            sink.release()
            throw ZooKeeperError(code: Int32(errno), operation: "connect", path: connectString)
        }
        self.handle = handle
        self.sink = sink
        self.connectString = connectString
    }

    deinit {
        // Joins the library's threads: no callback runs after this, so the sink may go.
        zookeeper_close(handle)
        sink.release()
    }

    /// The library's messages go to stderr, warnings and errors only (its INFO level logs every
    /// connection attempt).
    private static let configureLogging: Void = { zoo_set_debug_level(ZOO_LOG_LEVEL_WARN) }()

    private static func event(type: Int32, state: Int32, path: String) -> ZooKeeperEvent {
        if type == ZOO_SESSION_EVENT {
            if state == ZOO_CONNECTED_STATE { return .connected }
            if state == ZOO_CONNECTING_STATE || state == ZOO_ASSOCIATING_STATE { return .connecting }
            if state == ZOO_EXPIRED_SESSION_STATE { return .expired }
            return .other(type: type, state: state)
        }
        if type == ZOO_CREATED_EVENT { return .nodeCreated(path) }
        if type == ZOO_DELETED_EVENT { return .nodeDeleted(path) }
        if type == ZOO_CHANGED_EVENT { return .nodeChanged(path) }
        if type == ZOO_CHILD_EVENT { return .childrenChanged(path) }
        return .other(type: type, state: state)
    }

    public var isConnected: Bool { zoo_state(handle) == ZOO_CONNECTED_STATE }
    public var isExpired: Bool { zoo_state(handle) == ZOO_EXPIRED_SESSION_STATE }

    /// The session timeout the ensemble granted (it bounds the one asked for by its tickTime);
    /// the one asked for until connected.
    public var sessionTimeoutMilliseconds: Int32 { zoo_recv_timeout(handle) }

    /// The session id, for logs.
    public var sessionID: Int64 { zoo_client_id(handle)?.pointee.client_id ?? 0 }

    /// What `create` makes.
    public struct CreateMode: Sendable {
        let flags: Int32
        public static var persistent: CreateMode { CreateMode(flags: 0) }
        public static var ephemeral: CreateMode { CreateMode(flags: ZOO_EPHEMERAL) }
        public static var ephemeralSequential: CreateMode { CreateMode(flags: ZOO_EPHEMERAL | ZOO_SEQUENCE) }
    }

    /// Creates `path` with `data`; returns the path created (with the sequence number, for a
    /// sequential node).
    @discardableResult
    public func create(_ path: String, data: [UInt8] = [], mode: CreateMode) throws(ZooKeeperError) -> String {
        var created = [CChar](repeating: 0, count: path.utf8.count + 64)
        let capacity = Int32(created.count - 1)
        let code = data.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                zoo_create(handle, path, chars.baseAddress, Int32(chars.count), flare_zoo_open_acl(), mode.flags,
                           &created, capacity)
            }
        }
        try check(code, "create", path)
        return String(decoding: created.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A znode's data and its version (for a conditional `set`).
    public struct Data: Sendable, Equatable {
        public let bytes: [UInt8]
        public let version: Int32
        public var text: String { String(decoding: bytes, as: UTF8.self) }
    }

    /// The largest znode ZooKeeper stores by default (`jute.maxbuffer`).
    public static let maximumDataSize = 1 << 20

    public func get(_ path: String, watch: Bool = false) throws(ZooKeeperError) -> Data {
        var buffer = [UInt8](repeating: 0, count: Self.maximumDataSize)
        var length = Int32(buffer.count)
        var stat = Stat()
        let code = buffer.withUnsafeMutableBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                zoo_get(handle, path, watch ? 1 : 0, chars.baseAddress, &length, &stat)
            }
        }
        try check(code, "get", path)
        // -1 is an empty node (created without data).
        return Data(bytes: Array(buffer.prefix(Int(max(0, length)))), version: stat.version)
    }

    /// Replaces the data; `version` -1 replaces whatever is there, any other value only that
    /// version (`ZBADVERSION` otherwise). Returns the new version.
    @discardableResult
    public func set(_ path: String, data: [UInt8], version: Int32 = -1) throws(ZooKeeperError) -> Int32 {
        var stat = Stat()
        let code = data.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                zoo_set2(handle, path, chars.baseAddress, Int32(chars.count), version, &stat)
            }
        }
        try check(code, "set", path)
        return stat.version
    }

    /// Whether `path` exists; with `watch`, its creation, deletion or change fires an event.
    public func exists(_ path: String, watch: Bool = false) throws(ZooKeeperError) -> Bool {
        var stat = Stat()
        let code = zoo_exists(handle, path, watch ? 1 : 0, &stat)
        if code == ZNONODE.rawValue { return false }
        try check(code, "exists", path)
        return true
    }

    public func children(_ path: String, watch: Bool = false) throws(ZooKeeperError) -> [String] {
        var list = String_vector()
        let code = zoo_get_children(handle, path, watch ? 1 : 0, &list)
        try check(code, "get children of", path)
        defer { deallocate_String_vector(&list) }
        var names: [String] = []
        for i in 0..<Int(list.count) {
            if let name = list.data[i] { names.append(String(cString: name)) }
        }
        return names
    }

    public func delete(_ path: String, version: Int32 = -1) throws(ZooKeeperError) {
        try check(zoo_delete(handle, path, version), "delete", path)
    }

    /// Waits until the server this session talks to has caught up with the ensemble's leader on
    /// `path`, so the next read is not older than the latest write anywhere (ZooKeeper `sync`).
    public func sync(_ path: String, timeoutMilliseconds: Int = 5000) throws(ZooKeeperError) {
        /// Filled on the library's completion thread, read here after `done`.
        final class Completion: Sendable {
            let done = DispatchSemaphore(value: 0)
            let code = Atomic<Int32>(0)
        }
        // Our reference is taken before the call: the callback may run (and drop its
        // reference) before `zoo_async` returns.
        let completion = Completion()
        let callbackReference = Unmanaged.passRetained(completion)
        let started = zoo_async(handle, path, { code, _, context in
            let completion = Unmanaged<Completion>.fromOpaque(context!).takeRetainedValue()
            completion.code.store(code, ordering: .releasing)
            completion.done.signal()
        }, callbackReference.toOpaque())
        guard started == ZOK.rawValue else {
            callbackReference.release()
            throw ZooKeeperError(code: started, operation: "sync", path: path)
        }
        guard completion.done.wait(timeout: .now() + .milliseconds(timeoutMilliseconds)) == .success else {
            throw ZooKeeperError(code: ZOPERATIONTIMEOUT.rawValue, operation: "sync", path: path)
        }
        try check(completion.code.load(ordering: .acquiring), "sync", path)
    }

    private func check(_ code: Int32, _ operation: String, _ path: String) throws(ZooKeeperError) {
        guard code == ZOK.rawValue else { throw ZooKeeperError(code: code, operation: operation, path: path) }
    }
}
