#if canImport(Glibc)
import Glibc
#endif
import FlareNet

/// A block of a dump as read from the socket, with the items that lie complete inside it. The
/// reader fills it and hands it over whole; the store writer reads the items in place, so no item
/// is copied between the socket and the store.
final class ItemBatch {
    struct Item {
        let key: Range<Int>
        let value: Range<Int>
        let flags: UInt32
        let version: UInt64
        let expire: Int64
    }

    let base: UnsafeMutableRawPointer
    let capacity: Int
    var items: [Item] = []

    init(capacity: Int) {
        self.capacity = capacity
        base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit { base.deallocate() }

    func bytes(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count)
    }
}

/// Hands batches from the thread reading a dump to the thread storing it, so network and disk
/// work overlap. Bounded: the reader waits when the writer falls behind.
final class ItemBatchQueue: @unchecked Sendable {
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
