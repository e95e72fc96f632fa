import Glibc

/// Minimal epoll binding. Swift's Glibc module does not import <sys/epoll.h>, and this
/// executable has no C target of its own, so the three calls are looked up with dlsym
/// and `struct epoll_event` is laid out by hand (packed, 12 bytes, on x86_64 only).
struct Epoll {
    static let readable: UInt32 = 0x001   // EPOLLIN
    static let writable: UInt32 = 0x004   // EPOLLOUT
    static let failed: UInt32 = 0x008     // EPOLLERR
    static let hangUp: UInt32 = 0x010     // EPOLLHUP
    private static let ctlAdd: Int32 = 1
    private static let ctlMod: Int32 = 3
    private static let closeOnExec: Int32 = 0o2000000   // EPOLL_CLOEXEC == O_CLOEXEC

    #if arch(x86_64)
    static let eventStride = 12
    static let dataOffset = 4
    #else
    static let eventStride = 16
    static let dataOffset = 8
    #endif

    private typealias CreateFn = @convention(c) (Int32) -> Int32
    private typealias CtlFn = @convention(c) (Int32, Int32, Int32, UnsafeMutableRawPointer?) -> Int32
    private typealias WaitFn = @convention(c) (Int32, UnsafeMutableRawPointer?, Int32, Int32) -> Int32

    private let ctlFn: CtlFn
    private let waitFn: WaitFn
    let fd: Int32
    /// Buffer for epoll_wait results.
    private let events: UnsafeMutableRawPointer
    private let capacity: Int

    init(capacity: Int) {
        func symbol<T>(_ name: String, as _: T.Type) -> T {
            guard let handle = dlopen(nil, RTLD_NOW), let sym = dlsym(handle, name) else {
                die("epoll is not available (dlsym \(name) failed)")
            }
            return unsafeBitCast(sym, to: T.self)
        }
        let create = symbol("epoll_create1", as: CreateFn.self)
        ctlFn = symbol("epoll_ctl", as: CtlFn.self)
        waitFn = symbol("epoll_wait", as: WaitFn.self)
        fd = create(Self.closeOnExec)
        if fd < 0 { die("epoll_create1: \(errnoText())") }
        self.capacity = max(capacity, 1)
        events = .allocate(byteCount: self.capacity * Self.eventStride, alignment: 8)
    }

    func release() {
        close(fd)
        events.deallocate()
    }

    func add(_ socket: Int32, events mask: UInt32, cookie: Int) { control(Self.ctlAdd, socket, mask, cookie) }
    func modify(_ socket: Int32, events mask: UInt32, cookie: Int) { control(Self.ctlMod, socket, mask, cookie) }

    private func control(_ op: Int32, _ socket: Int32, _ mask: UInt32, _ cookie: Int) {
        var ev: (UInt64, UInt64) = (0, 0)   // 16 bytes, enough for either layout
        withUnsafeMutableBytes(of: &ev) { raw in
            raw.storeBytes(of: mask, toByteOffset: 0, as: UInt32.self)
            raw.storeBytes(of: UInt64(cookie), toByteOffset: Self.dataOffset, as: UInt64.self)
            if ctlFn(fd, op, socket, raw.baseAddress) != 0 { die("epoll_ctl: \(errnoText())") }
        }
    }

    /// Waits up to `timeoutMs`; returns the number of ready events (0 on EINTR).
    func wait(timeoutMs: Int32) -> Int {
        let n = waitFn(fd, events, Int32(capacity), timeoutMs)
        if n < 0 {
            if errno == EINTR { return 0 }
            die("epoll_wait: \(errnoText())")
        }
        return Int(n)
    }

    @inline(__always)
    func event(_ i: Int) -> (mask: UInt32, cookie: Int) {
        let base = events + i * Self.eventStride
        return (base.loadUnaligned(as: UInt32.self),
                Int(truncatingIfNeeded: base.loadUnaligned(fromByteOffset: Self.dataOffset, as: UInt64.self)))
    }
}
