/// One stored record as an engine hands it to a callback. `value` points into
/// engine-owned memory and is valid only during that callback.
public struct RecordView {
    public var header: ItemHeader
    public var value: UnsafeRawBufferPointer

    public init(header: ItemHeader, value: UnsafeRawBufferPointer) {
        self.header = header
        self.value = value
    }
}

/// What an update callback wants done with the record it was shown.
public enum RecordChange {
    /// Leave the record (or its absence) as it is.
    case keep
    /// Delete the record if there is one.
    case remove
    /// Store `header` with the value `first + second`. The slices may point into
    /// the current record's value (append, touch); engines copy them before the
    /// old record is released.
    case write(ItemHeader, UnsafeRawBufferPointer, UnsafeRawBufferPointer)
}

/// The per-engine primitives `ItemStore` builds memcached semantics on.
///
/// Threads: every method may be called concurrently from any thread, except
/// `close()`, which the owner calls once all other calls have returned.
/// Callbacks run while the engine holds that record's lock: they must be short
/// and must not call back into the engine.
public protocol StorageEngine: AnyObject, Sendable {
    /// Describes how the configured storage type was mapped onto this engine, if it was.
    var mappingNote: String? { get }
    /// Where the data lives, for error messages.
    var location: String { get }

    /// Calls `body` with the record of `key`, or nil if there is none.
    func read<R>(_ key: UnsafeRawBufferPointer, _ body: (RecordView?) -> R) throws(StorageError) -> R

    /// Atomically reads the record of `key` and applies the change `decide` returns.
    /// No other update of the same key can run between the read and the change.
    func update(_ key: UnsafeRawBufferPointer, _ decide: (RecordView?) -> RecordChange) throws(StorageError)

    /// Removes every record quickly, without stalling other callers for long.
    func removeAll() throws(StorageError)

    /// Number of records, expired ones included.
    var recordCount: Int { get }
    /// Database file size (persistent engines) or bytes in use (memory engine).
    var byteSize: Int { get }

    /// A cursor over all records; it holds no lock between calls to `next`.
    func makeRecordCursor() throws(StorageError) -> any RecordCursor

    /// Flushes and releases the database. Idempotent.
    func close()
}

/// Iterates an engine's records in engine order. Used by one thread at a time.
/// A record present for the whole iteration is visited exactly once; records
/// added or removed meanwhile may or may not be visited.
public protocol RecordCursor: AnyObject {
    /// Visits up to `maxRecords` records; returns false once the iteration has ended.
    func next(maxRecords: Int, _ body: (UnsafeRawBufferPointer, RecordView) -> Void) throws(StorageError) -> Bool
}
