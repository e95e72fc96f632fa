#if canImport(Glibc)
import Glibc
#endif
import FlareCluster
import FlareNet
import FlareProtocol
import FlareStorage
import Logging

/// Copies a partition from other nodes with `dump` while they keep serving (cluster-behaviour.md
/// §4 slave construction, §5 new master), on a background thread of its own. Writes made during
/// the copy reach this node through replication meanwhile; each dumped item is stored with its
/// version, so whichever copy is newer wins.
final class Reconstruction: @unchecked Sendable {
    struct Source {
        let node: NodeEntry
        let request: String
    }

    private let sources: [Source]
    private let store: ItemStore
    private let logger: Logger
    private let clock: ServerClock
    private let finished: @Sendable (Bool) -> Void

    init(sources: [Source], store: ItemStore, clock: ServerClock, logger: Logger, finished: @escaping @Sendable (Bool) -> Void) {
        self.sources = sources
        self.store = store
        self.clock = clock
        self.logger = logger
        self.finished = finished
    }

    func start() {
        let retained = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        pthread_create(&thread, nil, { arg in
            let job = Unmanaged<Reconstruction>.fromOpaque(arg!).takeRetainedValue()
            job.run()
            return nil
        }, retained)
        pthread_detach(thread)
    }

    private func run() {
        let started = ServerClock.systemNow()
        var total = 0
        for source in sources {
            do {
                let count = try copy(from: source)
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
    private func copy(from source: Source) throws(Failure) -> Int {
        guard let fd = LineClient.connect(host: source.node.name, port: source.node.port, timeoutMilliseconds: 2000) else {
            throw Failure(description: "cannot connect to \(source.node.nodeKey)")
        }
        defer { close(fd) }
        // A dump may pause (bandwidth limit, per-item wait); only a long silence is a failure.
        LineClient.setTimeout(fd, milliseconds: 60_000)
        guard LineClient.send(fd, source.request + "\r\n") else {
            throw Failure(description: "cannot send '\(source.request)' to \(source.node.nodeKey)")
        }
        let queue = ItemBatchQueue()
        let writer = StoreWriter(queue: queue, store: store, clock: clock)
        writer.start()
        var reader = DumpReader(fd: fd)
        defer { reader.release() }
        var items = 0
        var batch = ItemBatch()
        do throws(Failure) {
            readLoop: while true {
                switch try reader.next() {
                case .end:
                    break readLoop
                case .item(let key, let flags, let version, let expire, let value):
                    items += 1
                    batch.add(key: key, value: value, flags: flags, version: max(version, 1), expire: expire)
                    if batch.bytes.count >= ItemBatchQueue.batchBytes {
                        guard queue.put(batch) else { break readLoop }
                        batch = ItemBatch()
                    }
                }
            }
            if !batch.items.isEmpty { _ = queue.put(batch) }
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
            let ok = batch.bytes.withUnsafeBytes { bytes -> Bool in
                for item in batch.items {
                    do {
                        // A version not newer than the local one is refused: live replicated writes win.
                        _ = try store.store(.set, key: UnsafeRawBufferPointer(rebasing: bytes[item.key]), flags: item.flags,
                                            expire: item.expire, value: UnsafeRawBufferPointer(rebasing: bytes[item.value]),
                                            version: item.version, now: clock.now)
                    } catch {
                        queue.fail("storing a dumped item failed: \(error)")
                        return false
                    }
                }
                return true
            }
            if !ok { return }
        }
    }
}

/// Reads `VALUE <key> <flags> <bytes> <version> <expire>\r\n<data>\r\n` … `END\r\n` from a socket
/// with one growing buffer, handing out slices of it (valid until the next call).
struct DumpReader {
    enum Item {
        case item(key: UnsafeRawBufferPointer, flags: UInt32, version: UInt64, expire: Int64, value: UnsafeRawBufferPointer)
        case end
    }

    private let fd: Int32
    private var buffer: UnsafeMutableRawPointer
    private var capacity = 1 << 20
    private var start = 0
    private var end = 0

    init(fd: Int32) {
        self.fd = fd
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    mutating func next() throws(Reconstruction.Failure) -> Item {
        // The previous item's bytes may be dropped now.
        while true {
            let available = UnsafeRawBufferPointer(start: buffer + start, count: end - start)
            if let newline = available.firstIndex(of: 0x0A) {
                let lineEnd = newline > 0 && available[newline - 1] == 0x0D ? newline - 1 : newline
                let line = UnsafeRawBufferPointer(rebasing: available[..<lineEnd])
                if line.equals("END") {
                    start += newline + 1
                    return .end
                }
                var tokens = Tokenizer(line)
                guard let word = tokens.next(), word.equals("VALUE"),
                      let key = tokens.next(),
                      let flags = tokens.next().flatMap(Decimal.uint32),
                      let bytes = tokens.next().flatMap(Decimal.uint64),
                      let version = tokens.next().flatMap(Decimal.uint64),
                      let expire = tokens.next().flatMap(Decimal.int64) else {
                    throw Reconstruction.Failure(description: "unexpected line from the source: '\(String(decoding: line.prefix(200), as: UTF8.self))'")
                }
                let total = newline + 1 + Int(bytes) + 2
                if available.count >= total {
                    let value = UnsafeRawBufferPointer(rebasing: available[(newline + 1)..<(newline + 1 + Int(bytes))])
                    start += total
                    return .item(key: key, flags: flags, version: version, expire: expire, value: value)
                }
                try fill(needing: total)
            } else {
                try fill(needing: end - start + 1)
            }
        }
    }

    /// Reads more, making room for at least `needed` unconsumed bytes.
    private mutating func fill(needing needed: Int) throws(Reconstruction.Failure) {
        let live = end - start
        if start > 0 && capacity - end < max(needed - live, 64 * 1024) {
            memmove(buffer, buffer + start, live)
            start = 0
            end = live
        }
        if needed > capacity {
            var newCapacity = capacity
            while newCapacity < needed { newCapacity *= 2 }
            let bigger = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
            bigger.copyMemory(from: buffer + start, byteCount: live)
            buffer.deallocate()
            buffer = bigger
            capacity = newCapacity
            start = 0
            end = live
        }
        let n = read(fd, buffer + end, capacity - end)
        if n <= 0 {
            throw Reconstruction.Failure(description: n == 0 ? "the source closed the connection mid-dump" : "read failed: \(String(cString: strerror(errno)))")
        }
        end += n
    }

    func release() { buffer.deallocate() }
}
