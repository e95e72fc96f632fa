import Synchronization

/// Walks the memory engine shard by shard, slot by slot. Holds a shard's lock
/// only within one `next` call, and only for a bounded number of slots.
/// Threads: one at a time (see RecordCursor).
final class MemoryRecordCursor: RecordCursor {
    /// Slots examined per lock hold, so a sparse shard cannot stall writers.
    private static let slotsPerLock = 4096

    private let engine: MemoryEngine
    private var shardIndex = 0
    private var slot = 0

    init(engine: MemoryEngine) {
        self.engine = engine
    }

    func next(maxRecords: Int, _ body: (UnsafeRawBufferPointer, RecordView) -> Void) throws(StorageError) -> Bool {
        try engine.checkOpen()
        var visited = 0
        while shardIndex < engine.shardCount {
            if visited >= maxRecords { return true }
            let shard = engine.shard(at: shardIndex)
            let shardFinished = shard.table.withLock { table -> Bool in
                var examined = 0
                while visited < maxRecords, examined < Self.slotsPerLock, slot < table.slotsInUse {
                    if let entry = table.entry(atSlot: slot) {
                        body(entry.keyBytes, entry.view)
                        visited += 1
                    }
                    slot += 1
                    examined += 1
                }
                return slot >= table.slotsInUse
            }
            if shardFinished {
                shardIndex += 1
                slot = 0
            }
        }
        return false
    }
}
