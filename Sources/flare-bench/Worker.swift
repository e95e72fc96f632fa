import Glibc

/// What a run asks of every connection.
struct LoadShape: Sendable {
    var pipeline: Int
    var getWeight: Int
    var totalWeight: Int
    var keys: Int
    var multiget: Int
    /// Sets per batch while preloading.
    var preloadDepth: Int
}

/// Counters of one worker, merged at the end.
struct Counters {
    var gets: UInt64 = 0
    var sets: UInt64 = 0
    var getKeys: UInt64 = 0
    var hits: UInt64 = 0
    var serverErrors: UInt64 = 0
    var clientErrors: UInt64 = 0
    var errors: UInt64 = 0
    var unexpected: UInt64 = 0

    var errorTotal: UInt64 { serverErrors + clientErrors + errors + unexpected }

    mutating func add(_ o: Counters) {
        gets += o.gets; sets += o.sets; getKeys += o.getKeys; hits += o.hits
        serverErrors += o.serverErrors; clientErrors += o.clientErrors
        errors += o.errors; unexpected += o.unexpected
    }
}

/// One client connection with its reusable buffers and the batch it has in flight.
final class Connection {
    static let readCapacity = 32 * 1024

    let fd: Int32
    let number: Int
    /// Index in the owning worker's connection list (the epoll cookie).
    var slot = 0
    var rng: XorShift
    let wbuf: UnsafeMutablePointer<UInt8>
    var wlen = 0
    var woff = 0
    var wantWrite = false
    let rbuf: UnsafeMutablePointer<UInt8>
    var rstart = 0
    var rend = 0
    var parser = ReplyParser()
    /// Kinds of the requests of the current batch, in send order.
    let kinds: UnsafeMutablePointer<RequestKind>
    var batchSize = 0
    var answered = 0
    var sentAt: UInt64 = 0
    /// Keys this connection still has to store while preloading.
    var preloadNext = 0
    var preloadEnd = 0

    init(fd: Int32, number: Int, writeCapacity: Int, maxBatch: Int) {
        self.fd = fd
        self.number = number
        rng = XorShift(seed: UInt64(number) &* 0x1000_0001 &+ UInt64(truncatingIfNeeded: nowNanos()))
        wbuf = .allocate(capacity: writeCapacity)
        rbuf = .allocate(capacity: Self.readCapacity)
        kinds = .allocate(capacity: maxBatch)
    }

    deinit {
        close(fd)
        wbuf.deallocate()
        rbuf.deallocate()
        kinds.deallocate()
    }
}

/// One thread's share of the connections, driven by a level-triggered epoll loop.
/// Threads: created on the main thread, driven by its own thread inside `onThreads`, read
/// again by the main thread after the join.
final class Worker {
    private let shape: LoadShape
    private let templates: RequestTemplates
    private let connections: [Connection]
    private let epoll: Epoll

    private var preloading = false
    private var idle = 0
    private var warmupEnd: UInt64 = 0
    private var measureEnd: UInt64 = 0

    private(set) var counters = Counters()
    let histogram = Histogram()

    init(shape: LoadShape, templates: RequestTemplates, connections: [Connection]) {
        self.shape = shape
        self.templates = templates
        self.connections = connections
        epoll = Epoll(capacity: connections.count)
        for (i, c) in connections.enumerated() {
            c.slot = i
            epoll.add(c.fd, events: Epoll.readable, cookie: i)
        }
    }

    deinit { epoll.release() }

    /// Stores every key of each connection's preload range once.
    func preload() {
        preloading = true
        idle = 0
        for c in connections { startBatch(c) }
        while idle < connections.count { poll() }
        preloading = false
    }

    /// Closed-loop load until `measureEnd`; only replies completing in [warmupEnd, measureEnd) count.
    func run(warmupEnd: UInt64, measureEnd: UInt64) {
        self.warmupEnd = warmupEnd
        self.measureEnd = measureEnd
        for c in connections { startBatch(c) }
        while nowNanos() < measureEnd { poll() }
    }

    private func poll() {
        let n = epoll.wait(timeoutMs: 10)
        for k in 0..<n {
            let (mask, slot) = epoll.event(k)
            let c = connections[slot]
            if mask & Epoll.writable != 0 { flush(c) }
            if mask & (Epoll.readable | Epoll.failed | Epoll.hangUp) != 0 { receive(c) }
        }
    }

    /// Formats the connection's next batch into its write buffer and sends it in one write.
    private func startBatch(_ c: Connection) {
        var n = 0
        var count = 0
        if preloading {
            count = min(shape.preloadDepth, c.preloadEnd - c.preloadNext)
            if count == 0 { idle += 1; return }
            for i in 0..<count {
                c.kinds[i] = .set
                n += templates.putSet(c.wbuf + n, key: c.preloadNext + i)
            }
            c.preloadNext += count
        } else {
            count = shape.pipeline
            for i in 0..<count {
                if c.rng.below(shape.totalWeight) < shape.getWeight {
                    c.kinds[i] = .get
                    n += templates.putGet(c.wbuf + n, keys: &c.rng, keySpace: shape.keys)
                } else {
                    c.kinds[i] = .set
                    n += templates.putSet(c.wbuf + n, key: c.rng.below(shape.keys))
                }
            }
        }
        c.batchSize = count
        c.answered = 0
        c.wlen = n
        c.woff = 0
        c.sentAt = nowNanos()
        flush(c)
    }

    private func flush(_ c: Connection) {
        while c.woff < c.wlen {
            let n = send(c.fd, c.wbuf + c.woff, c.wlen - c.woff, Int32(MSG_NOSIGNAL))
            if n > 0 { c.woff += n; continue }
            let e = errno
            if e == EINTR { continue }
            if e == EAGAIN || e == EWOULDBLOCK {
                if !c.wantWrite { watch(c, write: true) }
                return
            }
            die("connection \(c.number): send failed: \(errnoText(e))")
        }
        if c.wantWrite { watch(c, write: false) }
    }

    private func watch(_ c: Connection, write: Bool) {
        epoll.modify(c.fd, events: Epoll.readable | (write ? Epoll.writable : 0), cookie: c.slot)
        c.wantWrite = write
    }

    private func receive(_ c: Connection) {
        if c.rstart > 0 {
            // Keep only the unparsed tail (a partial line) at the front of the buffer.
            let rest = c.rend - c.rstart
            if rest > 0 { memmove(c.rbuf, c.rbuf + c.rstart, rest) }
            c.rstart = 0
            c.rend = rest
        }
        if c.rend == Connection.readCapacity {
            die("connection \(c.number): reply line longer than \(Connection.readCapacity) bytes")
        }
        let n = read(c.fd, c.rbuf + c.rend, Connection.readCapacity - c.rend)
        if n == 0 { die("connection \(c.number): server closed the connection") }
        if n < 0 {
            let e = errno
            if e == EAGAIN || e == EWOULDBLOCK || e == EINTR { return }
            die("connection \(c.number): read failed: \(errnoText(e))")
        }
        c.rend += n
        let t = nowNanos()
        while let reply = c.parser.next(c.rbuf, &c.rstart, c.rend) {
            complete(c, reply, at: t)
        }
    }

    private func complete(_ c: Connection, _ reply: Reply, at t: UInt64) {
        guard c.answered < c.batchSize else {
            counters.unexpected += 1   // a reply to nothing we sent
            return
        }
        let kind = c.kinds[c.answered]
        c.answered += 1
        var hits = -1   // stays -1 unless the reply is the expected kind for the request
        switch reply {
        case .end(let values) where kind == .get: hits = values
        case .stored where kind == .set: hits = 0
        case .serverError: counters.serverErrors += 1
        case .clientError: counters.clientErrors += 1
        case .error: counters.errors += 1
        case .malformed: die("connection \(c.number): malformed VALUE line from server")
        default: counters.unexpected += 1
        }
        if hits >= 0 && !preloading && t >= warmupEnd && t < measureEnd {
            if kind == .get {
                counters.gets += 1
                counters.getKeys += UInt64(shape.multiget)
                counters.hits += UInt64(hits)
            } else {
                counters.sets += 1
            }
            histogram.record(t - c.sentAt)
        }
        if c.answered == c.batchSize && (preloading || t < measureEnd) {
            startBatch(c)
        }
    }
}

/// Runs `body` for every worker on its own thread and waits for all of them.
/// Each worker belongs to its thread from `pthread_create` to `pthread_join`, which order
/// the hand-over both ways; no worker is touched by two threads at once.
func onThreads(_ workers: [Worker], _ body: @escaping @Sendable (Worker) -> Void) {
    final class Job {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }
    var threads: [pthread_t] = []
    for w in workers {
        let job = Unmanaged.passRetained(Job { body(w) }).toOpaque()
        var tid = pthread_t()
        let rc = pthread_create(&tid, nil, { raw in
            Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue().run()
            return nil
        }, job)
        if rc != 0 { die("pthread_create: \(errnoText(rc))") }
        threads.append(tid)
    }
    for t in threads { pthread_join(t, nil) }
}
