/// Streams the live items of a store for `dump`. It holds no lock between
/// calls, and visits every item that exists for the whole iteration exactly once.
///
/// Threads: one thread at a time.
public final class ItemCursor {
    private let records: any RecordCursor

    init(records: any RecordCursor) {
        self.records = records
    }

    /// Calls body for up to maxItems live (non-expired, non-deleted) items; returns false
    /// when the iteration is finished. Key and value are valid only inside body,
    /// which may run under a shard lock: it must not call back into the store.
    public func next(maxItems: Int, now: Int64,
                     _ body: (UnsafeRawBufferPointer, ItemHeader, UnsafeRawBufferPointer) -> Void) throws(StorageError) -> Bool {
        try records.next(maxRecords: maxItems) { key, record in
            if !record.header.isTombstone && !record.header.isExpired(now: now) { body(key, record.header, record.value) }
        }
    }
}
