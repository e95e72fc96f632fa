#if canImport(Glibc)
import Glibc
#endif
import FlareNet

/// Dumped items copied out of the socket buffer, stored as one block plus offsets.
final class ItemBatch {
    struct Item {
        let key: Range<Int>
        let value: Range<Int>
        let flags: UInt32
        let version: UInt64
        let expire: Int64
    }

    var bytes: [UInt8] = []
    var items: [Item] = []

    init() { bytes.reserveCapacity(ItemBatchQueue.batchBytes + 64 * 1024) }

    func add(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, flags: UInt32, version: UInt64, expire: Int64) {
        let keyStart = bytes.count
        bytes.append(contentsOf: key)
        let valueStart = bytes.count
        bytes.append(contentsOf: value)
        items.append(Item(key: keyStart..<valueStart, value: valueStart..<bytes.count, flags: flags, version: version, expire: expire))
    }
}

/// Hands batches from the thread reading a dump to the thread storing it, so network and disk
/// work overlap. Bounded: the reader waits when the writer falls behind.
final class ItemBatchQueue: @unchecked Sendable {
    static let batchBytes = 4 << 20
    static let capacity = 4
    private let condition = Condition()
    private var batches: [ItemBatch] = []
    private var finished = false
    private(set) var failure: String?

    /// Blocks while the queue is full; false if the consumer failed.
    func put(_ batch: ItemBatch) -> Bool {
        condition.withLock {
            while batches.count >= Self.capacity && failure == nil { condition.wait(milliseconds: 100) }
            guard failure == nil else { return false }
            batches.append(batch)
            return true
        }.also { _ in condition.signal() }
    }

    /// The next batch, or nil once the producer finished and everything was taken.
    func take() -> ItemBatch? {
        let batch: ItemBatch? = condition.withLock {
            while batches.isEmpty && !finished { condition.wait(milliseconds: 100) }
            return batches.isEmpty ? nil : batches.removeFirst()
        }
        condition.signal()
        return batch
    }

    func finish() {
        condition.withLock { finished = true }
        condition.signal()
    }

    func fail(_ reason: String) {
        condition.withLock { if failure == nil { failure = reason } }
        condition.signal()
    }

    var failed: String? { condition.withLock { failure } }
}

private extension Bool {
    func also(_ body: (Bool) -> Void) -> Bool {
        body(self)
        return self
    }
}
