#if canImport(Glibc)
import Glibc
#endif
import FlareCluster
import FlareNet
import FlareProtocol
import FlareStorage
import Logging

/// Copies a partition from other nodes with `dump` while they keep serving (docs/original-behaviour.md,
/// "Cluster flows (roles, states, fail-over, construction)": slave construction, new partition), on a background
/// thread of its own. Writes made during the copy reach this node through replication meanwhile; each dumped item is
/// stored with its version, so whichever copy is newer wins.
final class Reconstruction: Sendable {
    struct Source {
        let node: NodeEntry
        let request: String
    }

    private let sources: [Source]
    private let store: ItemStore
    private let logger: Logger
    private let clock: ServerClock
    private let finished: @Sendable (Bool) -> Void

    /// The node map each source must route by before it is dumped (SourceMapWait).
    private let minimumSourceVersion: UInt64

    init(sources: [Source], store: ItemStore, clock: ServerClock, logger: Logger, minimumSourceVersion: UInt64,
         finished: @escaping @Sendable (Bool) -> Void) {
        self.minimumSourceVersion = minimumSourceVersion
        self.sources = sources
        self.store = store
        self.clock = clock
        self.logger = logger
        self.finished = finished
    }

    /// Runs on a thread of `work`; a node shutting down stops it between batches (its socket is
    /// shut to wake a blocked read) and it reports failure.
    func start(in work: BackgroundWork) {
        let started = work.spawn("construction") { [self] job in run(job) }
        if !started {
            logger.notice("reconstruction not started: shutting down")
            finished(false)
        }
    }

    private func run(_ job: BackgroundWork.Job) {
        let started = ServerClock.systemNow()
        var total = 0
        for source in sources {
            do {
                guard !job.isStopping else { throw Failure(description: "the node is shutting down") }
                let count = try copy(from: source, job)
                total += count
                logger.notice("reconstruction: \(count) items from \(source.node.nodeKey) (\(source.request))")
            } catch {
                logger.error("reconstruction from \(source.node.nodeKey) failed: \(error)")
                finished(false)
                return
            }
        }
        logger.notice("reconstruction finished: \(total) items in \(ServerClock.systemNow() - started) s")
        finished(true)
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Streams one source's dump into the store: this thread reads and parses, a second thread
    /// stores, so the network and the disk work at the same time. Returns the items received.
    private func copy(from source: Source, _ job: BackgroundWork.Job) throws(Failure) -> Int {
        guard let fd = LineClient.connect(host: source.node.name, port: source.node.port, timeoutMilliseconds: 2000) else {
            throw Failure(description: "cannot connect to \(source.node.nodeKey)")
        }
        job.whenStopping { _ = shutdown(fd, Int32(SHUT_RDWR)) }
        defer {
            job.whenStopping(nil)
            close(fd)
        }
        // A dump may pause (bandwidth limit, per-item wait); only a long silence is a failure.
        LineClient.setTimeout(fd, milliseconds: 60_000)
        if let problem = SourceMapWait.wait(fd: fd, source: source.node.nodeKey, minimum: minimumSourceVersion) {
            throw Failure(description: problem)
        }
        guard LineClient.send(fd, source.request + "\r\n") else {
            throw Failure(description: "cannot send '\(source.request)' to \(source.node.nodeKey)")
        }
        let queue = ItemBatchQueue()
        let writer = StoreWriter(queue: queue, store: store, clock: clock)
        writer.start()
        var reader = DumpReader(fd: fd, queue: queue)
        var items = 0
        do throws(Failure) {
            items = try reader.run()
        } catch {
            queue.fail(error.description)
        }
        queue.finish()
        writer.join()
        if let failure = queue.failed { throw Failure(description: failure) }
        return items
    }
}

/// Stores the batches a reconstruction reads, on its own thread.
final class StoreWriter: @unchecked Sendable {
    private let queue: ItemBatchQueue
    private let store: ItemStore
    private let clock: ServerClock
    private var thread = pthread_t()

    init(queue: ItemBatchQueue, store: ItemStore, clock: ServerClock) {
        self.queue = queue
        self.store = store
        self.clock = clock
    }

    func start() {
        let retained = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&thread, nil, { arg in
            Unmanaged<StoreWriter>.fromOpaque(arg!).takeRetainedValue().run()
            return nil
        }, retained)
    }

    func join() { pthread_join(thread, nil) }

    private func run() {
        while let batch = queue.take() {
            for item in batch.items {
                do {
                    // A version not newer than the local one is refused: live replicated writes win.
                    _ = try store.store(.set, key: batch.bytes(item.key), flags: item.flags, expire: item.expire,
                                        value: batch.bytes(item.value), version: item.version, now: clock.now)
                } catch {
                    queue.fail("storing a dumped item failed: \(error)")
                    return
                }
            }
        }
    }
}

/// Reads `VALUE <key> <flags> <bytes> <version> <expire>\r\n<data>\r\n` … `END\r\n` from a socket
/// straight into batch blocks: items complete in a block are recorded in place; when the block is
/// full, the incomplete tail moves to a fresh block and the full one goes to the store writer.
struct DumpReader {
    static let blockBytes = 4 << 20
    private let fd: Int32
    private let queue: ItemBatchQueue
    private var batch = ItemBatch(capacity: DumpReader.blockBytes)
    private var start = 0
    private var end = 0

    init(fd: Int32, queue: ItemBatchQueue) {
        self.fd = fd
        self.queue = queue
    }

    /// Reads until `END`; returns the number of items handed to the writer.
    mutating func run() throws(Reconstruction.Failure) -> Int {
        var count = 0
        while true {
            switch try parse() {
            case .item(let item, let length):
                batch.items.append(item)
                start += length
                count += 1
            case .end:
                if !batch.items.isEmpty { _ = queue.put(batch) }
                return count
            case .needMore(let total):
                if total > batch.capacity - start || batch.capacity - end < 64 * 1024 {
                    guard moveToNewBlock(needing: total) else { return count }
                }
                let n = read(fd, batch.base + end, batch.capacity - end)
                if n <= 0 {
                    throw Reconstruction.Failure(description: n == 0 ? "the source closed the connection mid-dump"
                                                                     : "read failed: \(String(cString: strerror(errno)))")
                }
                end += n
            }
        }
    }

    private enum Parsed {
        case item(ItemBatch.Item, length: Int)
        case end
        /// The next item needs this many bytes from `start` (0: at least one more line).
        case needMore(Int)
    }

    private func parse() throws(Reconstruction.Failure) -> Parsed {
        let available = UnsafeRawBufferPointer(start: batch.base + start, count: end - start)
        guard let newline = available.firstIndex(of: 0x0A) else { return .needMore(available.count + 1) }
        let lineEnd = newline > 0 && available[newline - 1] == 0x0D ? newline - 1 : newline
        let line = UnsafeRawBufferPointer(rebasing: available[..<lineEnd])
        if line.equals("END") { return .end }
        var tokens = Tokenizer(line)
        guard let word = tokens.next(), word.equals("VALUE"),
              let key = tokens.next(),
              let flags = tokens.next().flatMap(Decimal.uint32),
              let bytes = tokens.next().flatMap(Decimal.uint64), bytes <= UInt64(Int32.max),
              let version = tokens.next().flatMap(Decimal.uint64),
              let expire = tokens.next().flatMap(Decimal.int64) else {
            throw Reconstruction.Failure(description: "unexpected line from the source: '\(String(decoding: line.prefix(200), as: UTF8.self))'")
        }
        let total = newline + 1 + Int(bytes) + 2
        guard available.count >= total else { return .needMore(total) }
        let keyStart = start + (key.baseAddress! - UnsafeRawPointer(available.baseAddress!))
        let valueStart = start + newline + 1
        return .item(ItemBatch.Item(key: keyStart..<(keyStart + key.count), value: valueStart..<(valueStart + Int(bytes)),
                                    flags: flags, version: max(version, 1), expire: expire), length: total)
    }

    /// Hands the current block (its complete items) to the writer and continues in a new one with
    /// the incomplete tail. False if the writer has failed.
    private mutating func moveToNewBlock(needing total: Int) -> Bool {
        let tail = end - start
        let next = ItemBatch(capacity: max(DumpReader.blockBytes, total + 64 * 1024))
        next.base.copyMemory(from: batch.base + start, byteCount: tail)
        if !batch.items.isEmpty && !queue.put(batch) { return false }
        batch = next
        start = 0
        end = tail
        return true
    }
}
