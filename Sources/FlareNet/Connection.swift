#if canImport(Glibc)
import Glibc
#endif
import Atomics
internal import CLibevent
import FlareProtocol

/// One client connection.
///
/// Owned by its worker thread: every mutable field is touched only on that thread. Other threads
/// (`stats threads`, `kill`) read `id`, `peer`, `openedAt` (immutable) and `activity` (atomic) only,
/// and ask the worker to act through `Worker.post`.
public final class Connection: @unchecked Sendable, TurnEndWork {
    public let id: Int
    public let peer: String
    public let openedAt: Int64
    /// unowned(unsafe): a worker outlives its connections, and this is read on every event.
    public unowned(unsafe) let worker: Worker
    /// Replies waiting to be written.
    public let output = ReplyBuffer()
    /// Per-connection state a handler may attach (e.g. a dump in progress).
    public var handlerState: AnyObject?
    /// How many bytes at the start of the unconsumed input a handler already found to hold no line
    /// end: a long request line arriving in pieces is then scanned once, not once per piece.
    public var scannedWithoutNewline = 0
    /// Set by the handler from the first byte it sees.
    public var wireProtocol = WireProtocol.undecided
    /// What the connection is doing, for `stats threads`: a `Command` raw value + 1, or 0 when idle.
    public let activity = ManagedAtomic<UInt8>(0)

    let fd: Int32
    private var readEvent: OpaquePointer?
    private var writeEvent: OpaquePointer?
    private var resumeTimer: OpaquePointer?
    /// The timerfd `resumeTimer` watches: a pause of a few microseconds must not last a 4 ms tick
    /// of the loop's coarse clock (Worker.makeBase).
    private var resumeFD: Int32 = -1

    private var input: UnsafeMutableRawPointer
    private var inputCapacity: Int
    private var inputStart = 0
    private var inputEnd = 0
    private var needAtLeast = 0
    private var swallow = 0
    private var closeAfterFlush = false
    private var closed = false
    /// A streamed reply is in progress: no new requests are read until it ends.
    private var streaming = false
    private var waitingForWrite = false

    static let initialInputCapacity = 16 * 1024
    /// Output beyond this stops request processing until the client reads (a pipelining client
    /// that never reads must not make the server buffer without bound).
    static let outputHighWater = 4 << 20

    init(fd: Int32, id: Int, peer: String, worker: Worker, now: Int64) {
        self.fd = fd
        self.id = id
        self.peer = peer
        self.worker = worker
        self.openedAt = now
        self.inputCapacity = Connection.initialInputCapacity
        self.input = UnsafeMutableRawPointer.allocate(byteCount: inputCapacity, alignment: 16)
    }

    deinit {
        input.deallocate()
    }

    func start() {
        let me = Unmanaged.passUnretained(self).toOpaque()
        readEvent = event_new(worker.base, fd, Int16(EV_READ | EV_PERSIST), connectionReadCallback, me)
        writeEvent = event_new(worker.base, fd, Int16(EV_WRITE | EV_PERSIST), connectionWriteCallback, me)
        event_add(readEvent, nil)
        lastActive = ServerClock.monotonicMilliseconds()
    }

    /// When the client last sent something (monotonic ms); the worker's once-a-second sweep closes
    /// connections idle for longer than `net-read-timeout` (cheaper than a libevent timeout re-armed
    /// per read). Milliseconds, not the 1-second server clock, so a busy client is never cut off.
    private(set) var lastActive: Int64 = 0

    /// Whether the idle sweep may close this connection: nothing in flight either way.
    var isIdle: Bool { !streaming && !awaitingReply && slots.isEmpty && output.isEmpty && !closed }

    // MARK: Streaming replies

    /// Starts or continues a streamed reply: `Handler.resume` is called again once the output has
    /// drained, after `pauseMicroseconds` if non-zero (dump's wait and bandwidth limit).
    public func stream(pauseMicroseconds: Int = 0) {
        streaming = true
        if pauseMicroseconds > 0 {
            if resumeTimer == nil {
                resumeFD = timerfd_create(CLOCK_MONOTONIC, FLARE_TFD_NONBLOCK | FLARE_TFD_CLOEXEC)
                // Without a timerfd (out of descriptors), a plain loop timer: coarser, still a pause.
                resumeTimer = event_new(worker.base, resumeFD, resumeFD >= 0 ? Int16(EV_READ) : 0, connectionResumeCallback,
                                        Unmanaged.passUnretained(self).toOpaque())
            }
            let seconds = pauseMicroseconds / 1_000_000
            let micros = pauseMicroseconds % 1_000_000
            if resumeFD >= 0 {
                var spec = itimerspec(it_interval: timespec(tv_sec: 0, tv_nsec: 0),
                                      it_value: timespec(tv_sec: seconds, tv_nsec: micros * 1000))
                _ = timerfd_settime(resumeFD, 0, &spec, nil)
                event_add(resumeTimer, nil)
            } else {
                var tv = timeval(tv_sec: seconds, tv_usec: micros)
                event_add(resumeTimer, &tv)
            }
            pausedUntilTimer = true
        }
    }

    private var pausedUntilTimer = false

    /// Ends a streamed reply; pipelined requests behind it are processed next.
    public func endStream() {
        streaming = false
    }

    /// The handler waits for a reply from elsewhere (a forwarded request): no further request of
    /// this connection is processed until `replyArrived()`, so replies stay in request order.
    public func awaitReply() {
        awaitingReply = true
    }

    /// The awaited reply is in `output`: write it and go on with the requests behind it.
    /// Must run on this connection's worker thread.
    public func replyArrived() {
        awaitingReply = false
        guard !closed else { return }
        drive()
    }

    private var awaitingReply = false
    /// The client shut down its sending side; close once everything it asked for is answered.
    private var inputEnded = false

    // MARK: Replies that arrive later (pipelining through a proxy)

    /// A place in the reply stream held for a reply that comes later (a forwarded request's).
    public struct ReplySlot: Sendable { fileprivate let id: UInt64 }

    /// The open slots, oldest first, each with its position among the pending output bytes.
    /// Output is written only up to the first one, so replies leave in request order while the
    /// requests behind a forwarded one are already being served.
    private var slots: [(id: UInt64, position: Int)] = []
    private var lastSlotID: UInt64 = 0
    /// More forwarded requests than this in flight stop reading the connection's requests.
    public static let maxOpenSlots = 128

    /// Holds the reply of the request being handled for later: requests behind it are processed
    /// and answered after it. Fill it exactly once with `fill(_:with:)`.
    public func openSlot() -> ReplySlot {
        lastSlotID &+= 1
        slots.append((lastSlotID, output.pendingCount))
        return ReplySlot(id: lastSlotID)
    }

    /// Puts `reply` in its slot; what the slot held back is written at the end of this loop turn
    /// (one send for every reply that arrived in it). Worker thread only; no-op once closed.
    public func fill(_ slot: ReplySlot, with reply: UnsafeRawBufferPointer) {
        fill(slot) { $0.append(reply) }
    }

    /// Like `fill(_:with:)`, with the reply formatted by `write` (appended to the buffer it gets).
    public func fill(_ slot: ReplySlot, _ write: (ReplyBuffer) -> Void) {
        guard !closed, let index = slots.firstIndex(where: { $0.id == slot.id }) else { return }
        let position = slots[index].position
        let mark = output.pendingCount
        write(output)
        let length = output.pendingCount - mark
        output.moveTail(from: mark, to: position)
        slots.remove(at: index)
        for later in index..<slots.count { slots[later].position += length }
        if index == 0 { scheduleDrive() }
    }

    private var driveScheduled = false

    private func scheduleDrive() {
        guard !driveScheduled else { return }
        driveScheduled = true
        worker.atTurnEnd(self)
    }

    public func turnEnded() {
        driveScheduled = false
        if !closed { drive() }
    }

    // MARK: Event handling (worker thread)

    fileprivate func onReadable(_ what: Int16) {
        lastActive = ServerClock.monotonicMilliseconds()
        guard fillInput() else { return }
        drive()
    }

    fileprivate func onWritable() {
        drive()
    }

    fileprivate func onResumeTimer() {
        if resumeFD >= 0 {
            var expirations: UInt64 = 0
            _ = read(resumeFD, &expirations, 8)
        }
        pausedUntilTimer = false
        drive()
    }

    /// Reads what the socket has. Returns false if the connection was closed.
    private func fillInput() -> Bool {
        while true {
            let wanted = max(needAtLeast, inputEnd - inputStart + 4096)
            ensureInputCapacity(wanted)
            let free = inputCapacity - inputEnd
            let n = read(fd, input + inputEnd, free)
            if n > 0 {
                worker.counters.add(NetCounter.bytesRead, UInt64(n))
                inputEnd += n
                if n < free { return true }
                continue
            }
            if n == 0 {
                // The client finished sending (e.g. `nc` after its input): answer what it already
                // sent — forwarded requests and dumps may still be in flight — then close.
                inputEnded = true
                event_del(readEvent)
                return true
            }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return true
            default: close(); return false
            }
        }
    }

    /// Makes room for `total` unconsumed bytes, moving them to the front first.
    private func ensureInputCapacity(_ total: Int) {
        let live = inputEnd - inputStart
        if inputStart > 0 && (inputCapacity - inputEnd < 4096 || live == 0) {
            if live > 0 { memmove(input, input + inputStart, live) }
            inputStart = 0
            inputEnd = live
        }
        guard total > inputCapacity - inputStart else { return }
        var newCapacity = inputCapacity
        while newCapacity < total { newCapacity *= 2 }
        let newInput = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        newInput.copyMemory(from: input + inputStart, byteCount: live)
        input.deallocate()
        input = newInput
        inputCapacity = newCapacity
        inputStart = 0
        inputEnd = live
    }

    /// Runs the handler over the buffered input and writes the replies, until the input is used up,
    /// the socket is full (the write event resumes), or a streamed reply pauses (its timer resumes).
    /// Iterative on purpose: a long dump or a deep pipeline must not grow the stack.
    private func drive() {
        // Completions are posted to later loop turns, so nothing should call back in here while
        // the handler runs; if something did, running the handler twice over the same input would
        // corrupt the offsets, so the outer call goes round once more instead.
        guard !driving else {
            assertionFailure("re-entrant drive of connection \(id)")
            driveAgain = true
            return
        }
        driving = true
        defer { driving = false }
        repeat {
            driveAgain = false
            driveOnce()
        } while driveAgain && !closed
    }

    private var driving = false
    private var driveAgain = false

    private func driveOnce() {
        while !closed {
            let stalledOnOutput = processInput()
            guard writeOut() else { return }
            // Replies still owed to open slots come first: filling one drives again.
            if !slots.isEmpty && (closeAfterFlush || streaming) { return }
            if closeAfterFlush { close(); return }
            if streaming {
                if pausedUntilTimer { return }
                streaming = false
                worker.handler.resume(self)
                continue
            }
            if !stalledOnOutput {
                if inputEnded && !awaitingReply && slots.isEmpty { close() }
                return
            }
        }
    }

    /// Hands complete requests to the handler. Returns true if it stopped because output piled up.
    private func processInput() -> Bool {
        while !closed && !streaming && !awaitingReply && !closeAfterFlush && slots.count < Connection.maxOpenSlots {
            if output.pendingCount >= Connection.outputHighWater { return true }
            if swallow > 0 {
                let dropped = min(swallow, inputEnd - inputStart)
                swallow -= dropped
                inputStart += dropped
            }
            let available = inputEnd - inputStart
            if available == 0 || available < needAtLeast { break }
            let outcome = worker.handler.process(self, input: UnsafeRawBufferPointer(start: input + inputStart, count: available))
            guard outcome.consumed >= 0, outcome.consumed <= available, outcome.swallow >= 0 else {
                // A handler bug, not client input: drop this connection rather than read outside it.
                assertionFailure("handler consumed \(outcome.consumed) of \(available) bytes")
                close()
                return false
            }
            inputStart += outcome.consumed
            swallow += outcome.swallow
            needAtLeast = outcome.needAtLeast
            if outcome.close { closeAfterFlush = true }
            if outcome.consumed == 0 && outcome.swallow == 0 { break }
        }
        if inputStart == inputEnd {
            inputStart = 0
            inputEnd = 0
            if inputCapacity > 1 << 20 && needAtLeast <= Connection.initialInputCapacity { shrinkInput() }
        }
        return false
    }

    private func shrinkInput() {
        input.deallocate()
        inputCapacity = Connection.initialInputCapacity
        input = UnsafeMutableRawPointer.allocate(byteCount: inputCapacity, alignment: 16)
    }

    /// Writes pending replies, up to the first open slot. Returns true once all of those are
    /// written; false if the socket is full (the write event will call `drive` again) or the
    /// connection closed.
    private func writeOut() -> Bool {
        while !closed {
            let writable = slots.first?.position ?? output.pendingCount
            if writable == 0 { break }
            let pending = output.pending
            let n = send(fd, pending.baseAddress, writable, Int32(MSG_NOSIGNAL))
            if n > 0 {
                worker.counters.add(NetCounter.bytesWritten, UInt64(n))
                output.consume(n)
                for index in slots.indices { slots[index].position -= n }
                continue
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                if !waitingForWrite {
                    waitingForWrite = true
                    event_add(writeEvent, nil)
                }
                return false
            }
            close()
            return false
        }
        guard !closed else { return false }
        if waitingForWrite {
            waitingForWrite = false
            event_del(writeEvent)
        }
        if output.capacity > 1 << 20 { output.shrink(to: 16 * 1024) }
        return true
    }

    /// Closes the socket and releases the events. Safe to call more than once.
    public func close() {
        guard !closed else { return }
        closed = true
        for ev in [readEvent, writeEvent, resumeTimer] where ev != nil {
            event_del(ev)
            event_free(ev)
        }
        readEvent = nil
        writeEvent = nil
        resumeTimer = nil
        if resumeFD >= 0 { Glibc.close(resumeFD); resumeFD = -1 }
        Glibc.close(fd)
        worker.handler.connectionClosed(self)
        worker.connectionDidClose(self)
    }
}

private func connectionReadCallback(_ fd: Int32, _ what: Int16, _ arg: UnsafeMutableRawPointer?) {
    let connection = Unmanaged<Connection>.fromOpaque(arg!).takeUnretainedValue()
    // The connection may close (and leave its worker's table) inside the call.
    withExtendedLifetime(connection) { connection.onReadable(what) }
}

private func connectionWriteCallback(_ fd: Int32, _ what: Int16, _ arg: UnsafeMutableRawPointer?) {
    let connection = Unmanaged<Connection>.fromOpaque(arg!).takeUnretainedValue()
    // The connection may close (and leave its worker's table) inside the call.
    withExtendedLifetime(connection) { connection.onWritable() }
}

private func connectionResumeCallback(_ fd: Int32, _ what: Int16, _ arg: UnsafeMutableRawPointer?) {
    let connection = Unmanaged<Connection>.fromOpaque(arg!).takeUnretainedValue()
    // The connection may close (and leave its worker's table) inside the call.
    withExtendedLifetime(connection) { connection.onResumeTimer() }
}
