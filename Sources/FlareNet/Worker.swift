#if canImport(Glibc)
import Glibc
#endif
internal import CLibevent
import Atomics
import Synchronization

/// A worker thread with its own libevent loop, as in memcached: it owns the connections handed to
/// it and runs their requests to completion.
///
/// Everything but `post` and `counters` is used only on the worker's thread. Other threads talk to
/// it by posting closures, which the worker runs from its loop after an eventfd wake-up.
public final class Worker: @unchecked Sendable {
    public let index: Int
    /// unowned(unsafe): the server outlives its workers, and this is read on every event.
    public unowned(unsafe) let server: Server
    public private(set) var handler: ConnectionHandler!
    /// Socket counters, written by this worker only.
    public let counters = ThreadCounters(count: NetCounter.count)
    let base: OpaquePointer

    private var connections: [Int: Connection] = [:]
    /// Closures posted by other threads, run on this worker's thread (`post`).
    private let tasks = Mutex<[@Sendable () -> Void]>([])
    /// A pipe: the posting thread writes a byte, the worker's loop wakes and runs the tasks.
    private let wakeFD: Int32
    private let wakeWriteFD: Int32
    private var wakeEvent: OpaquePointer?
    private var thread = pthread_t()
    /// The loop's thread once it runs (0 before): tells `runLater` whether it is called from it.
    private let loopThread = ManagedAtomic<UInt>(0)
    /// Tasks `runLater` queued on this worker's own thread, run at the end of the turn.
    private var laterTasks: [() -> Void] = []
    private var laterRunning: [() -> Void] = []

    /// A default event base. Its timers read CLOCK_MONOTONIC_COARSE, which advances in scheduler
    /// ticks (4 ms here): fine for the once-a-second sweeps and the connect timeout. The one
    /// short timer, a dump's per-item pause, uses its own timerfd (`Connection.stream`). The
    /// precise-timer flag would fix every timer at the price of a `timerfd_settime` call on
    /// every loop iteration, i.e. on every request.
    private static func makeBase() -> OpaquePointer? {
        event_base_new()
    }

    init(index: Int, server: Server) throws(NetError) {
        self.index = index
        self.server = server
        guard let base = Worker.makeBase() else { throw .eventBase }
        self.base = base
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw .thread(errno: errno) }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        wakeFD = fds[0]
        wakeWriteFD = fds[1]
    }

    deinit { event_base_free(base) }

    func install(handler: ConnectionHandler) { self.handler = handler }

    /// Runs `task` on this worker's thread. Callable from any thread (`runLater` and `later` are
    /// the same thread's own, lock-free ways to defer work).
    public func post(_ task: @escaping @Sendable () -> Void) {
        // Only the first task of a batch wakes the loop: `runTasks` takes every task queued by
        // the time it swaps the list, so later ones ride on the pending wake-up (one system
        // call per batch instead of one per task).
        let first = tasks.withLock { tasks -> Bool in
            tasks.append(task)
            return tasks.count == 1
        }
        guard first else { return }
        var one: UInt8 = 1
        _ = write(wakeWriteFD, &one, 1)
    }

    /// Whether the caller runs on this worker's thread.
    public var isCurrent: Bool {
        let loop = loopThread.load(ordering: .relaxed)
        return loop != 0 && pthread_equal(pthread_t(loop), pthread_self()) != 0
    }

    /// Runs `task` on this worker's thread, after the code that called this has returned: at the
    /// end of the current loop turn when called on this worker's thread (no wake-up, no system
    /// call), otherwise as `post` does. Any thread.
    public func runLater(_ task: @escaping @Sendable () -> Void) {
        guard isCurrent else { post(task); return }
        laterTasks.append(task)
        if laterTasks.count == 1 && turnEndQueue.isEmpty { event_active(turnEndEvent, Int32(EV_TIMEOUT), 1) }
    }

    /// Runs `task` on a later loop turn of this worker (not in the current one, as `runLater`
    /// does). Worker thread only: a failure found inside some request's handling is reported from
    /// there, so the code that asked is never re-entered half-way through its work. No lock and no
    /// system call: a zero timeout, which libevent runs after the next poll.
    public func later(_ task: @escaping () -> Void) {
        deferred.append(task)
        if deferred.count == 1 {
            var now = timeval()
            event_add(laterEvent, &now)
        }
    }

    private var deferred: [() -> Void] = []
    private var deferredRunning: [() -> Void] = []
    private var laterEvent: OpaquePointer?

    fileprivate func runDeferred() {
        swap(&deferred, &deferredRunning)
        for task in deferredRunning { task() }
        deferredRunning.removeAll(keepingCapacity: true)
    }

    // MARK: End of the loop turn

    /// Asks for one `turnEnded()` call once the events libevent has already queued in this loop
    /// iteration have run: a peer link gathers every request of the turn into one send, a client
    /// connection every reply that arrived in it. Worker thread only; a work item asks again
    /// only after it has been called (each keeps its own flag).
    public func atTurnEnd(_ work: TurnEndWork) {
        // Kept alive by a retain of its own until it has run (released in runTurnEnd): the queue's
        // entries are plain pointers, so emptying it per turn destroys nothing.
        _ = Unmanaged.passRetained(work as AnyObject)
        turnEndQueue.append(TurnEndEntry(work: work))
        if turnEndQueue.count == 1 && laterTasks.isEmpty { event_active(turnEndEvent, Int32(EV_TIMEOUT), 1) }
    }

    private struct TurnEndEntry {
        unowned(unsafe) let work: TurnEndWork
    }

    private var turnEndQueue: [TurnEndEntry] = []
    /// The queue being run; swapped with `turnEndQueue` so neither is reallocated per turn.
    private var turnEndRunning: [TurnEndEntry] = []
    private var turnEndEvent: OpaquePointer?

    fileprivate func runTurnEnd() {
        // Tasks first: what they produce (a stream's copies, a released reply) is then sent by
        // the turn-end work below in this same turn.
        while !laterTasks.isEmpty {
            swap(&laterTasks, &laterRunning)
            for task in laterRunning { task() }
            laterRunning.removeAll(keepingCapacity: true)
        }
        swap(&turnEndQueue, &turnEndRunning)
        for entry in turnEndRunning {
            let work = entry.work
            work.turnEnded()
            Unmanaged.passUnretained(work as AnyObject).release()
        }
        turnEndRunning.removeAll(keepingCapacity: true)
    }

    func start() throws(NetError) {
        every(seconds: 1) { [unowned self] in closeIdleConnections() }
        let me = Unmanaged.passUnretained(self).toOpaque()
        // Persistent, though never added: only made active. A one-shot event is deleted by
        // libevent each time it runs, a call per loop turn saved this way.
        turnEndEvent = event_new(base, -1, Int16(EV_PERSIST), workerTurnEndCallback, me)
        laterEvent = event_new(base, -1, 0, workerLaterCallback, me)
        wakeEvent = event_new(base, wakeFD, Int16(EV_READ | EV_PERSIST), workerWakeCallback, me)
        event_add(wakeEvent, nil)
        let retained = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(&thread, nil, { arg in
            let worker = Unmanaged<Worker>.fromOpaque(arg!).takeRetainedValue()
            worker.run()
            return nil
        }, retained)
        if rc != 0 { throw .thread(errno: rc) }
    }

    private func run() {
        loopThread.store(UInt(pthread_self()), ordering: .relaxed)
        event_base_dispatch(base)
        // Loop ended by `stop`: close what is left so clients see EOF rather than a hang.
        for connection in Array(connections.values) { connection.close() }
        event_del(wakeEvent)
        event_free(wakeEvent)
        event_free(turnEndEvent)
        event_free(laterEvent)
        Glibc.close(wakeFD)
        Glibc.close(wakeWriteFD)
    }

    func join() { pthread_join(thread, nil) }

    func stop() {
        post { [self] in event_base_loopbreak(base) }
    }

    fileprivate func runTasks() {
        var drain = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        while read(wakeFD, &drain, 32) == 32 {}
        let batch = tasks.withLock { tasks -> [@Sendable () -> Void] in
            let batch = tasks
            tasks.removeAll(keepingCapacity: true)
            return batch
        }
        for task in batch { task() }
    }

    /// Runs `action` on this worker's thread every `seconds`. Call on this worker's thread (or
    /// before it starts).
    public func every(seconds: Double, _ action: @escaping () -> Void) {
        let callback = EventCallback(action)
        timers.append(callback)
        let ev = event_new(base, -1, Int16(EV_PERSIST), workerTimerCallback, Unmanaged.passUnretained(callback).toOpaque())
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        event_add(ev, &tv)
    }

    private var timers: [EventCallback] = []

    /// Takes over an accepted socket (runs on this worker's thread).
    func adopt(fd: Int32, id: Int, peer: String) {
        let connection = Connection(fd: fd, id: id, peer: peer, worker: self, now: server.clock.now)
        connections[id] = connection
        counters.add(NetCounter.totalConnections)
        server.register(connection)
        connection.start()
    }

    func connectionDidClose(_ connection: Connection) {
        connections[connection.id] = nil
        server.unregister(connection)
    }

    /// `net-read-timeout`: drops connections that have been silent too long.
    private func closeIdleConnections() {
        let timeout = server.readTimeoutSeconds
        guard timeout > 0 else { return }
        let now = ServerClock.monotonicMilliseconds()
        for connection in connections.values where connection.isIdle && now - connection.lastActive >= Int64(timeout) * 1000 {
            connection.close()
        }
    }

    /// Closes one of this worker's connections (`kill`); runs on this worker's thread.
    func closeConnection(id: Int) {
        connections[id]?.close()
    }
}

private func workerWakeCallback(_ fd: Int32, _ what: Int16, _ arg: UnsafeMutableRawPointer?) {
    Unmanaged<Worker>.fromOpaque(arg!).takeUnretainedValue().runTasks()
}

private func workerLaterCallback(_ fd: Int32, _ what: Int16, _ arg: UnsafeMutableRawPointer?) {
    Unmanaged<Worker>.fromOpaque(arg!).takeUnretainedValue().runDeferred()
}

private func workerTurnEndCallback(_ fd: Int32, _ what: Int16, _ arg: UnsafeMutableRawPointer?) {
    Unmanaged<Worker>.fromOpaque(arg!).takeUnretainedValue().runTurnEnd()
}

/// Work a worker runs once at the end of a loop turn (`Worker.atTurnEnd`).
public protocol TurnEndWork: AnyObject {
    func turnEnded()
}

private func workerTimerCallback(_ fd: Int32, _ what: Int16, _ arg: UnsafeMutableRawPointer?) {
    Unmanaged<EventCallback>.fromOpaque(arg!).takeUnretainedValue().action()
}
