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

/// Decides what happens to one record. Engines call `decide` exactly once per
/// successful update, under that record's lock; it must be short and must not
/// call back into the engine. A struct rather than a closure so that engines
/// built on C callbacks can reach it through a plain pointer without allocating.
public protocol RecordUpdater {
    /// `current` is the record as stored (nil if absent); its bytes are valid only during the call.
    mutating func decide(_ current: RecordView?) -> RecordChange
}

extension RecordUpdater {
    /// Entry point for C callbacks, which can carry only an untyped pointer to the updater.
    static func decide(at updater: UnsafeMutableRawPointer, _ current: RecordView?) -> RecordChange {
        updater.assumingMemoryBound(to: Self.self).pointee.decide(current)
    }
}

/// The per-engine primitives `ItemStore` builds memcached semantics on.
///
/// Threads: every method may be called concurrently from any thread, except
/// `close()`, which the owner calls once all other calls have returned.
/// Callbacks must be short and must not call back into the engine: they may
/// run under the record's lock or see bytes in a per-thread buffer.
public protocol StorageEngine: AnyObject, Sendable {
    /// Describes how the configured storage type was mapped onto this engine, if it was.
    var mappingNote: String? { get }
    /// Where the data lives, for error messages.
    var location: String { get }

    /// Calls `body` with the record of `key`, or nil if there is none. The bytes
    /// are valid only inside `body` (engines may hand out a per-thread copy).
    func read<R>(_ key: UnsafeRawBufferPointer, _ body: (RecordView?) -> R) throws(StorageError) -> R

    /// Atomically reads the record of `key` and applies the change `updater`
    /// decides: no other update of the key runs between the read and the change.
    /// If the change was a write, returns `written` applied to the record as it was stored.
    func update<U: RecordUpdater, R>(_ key: UnsafeRawBufferPointer, _ updater: inout U,
                                     written: (RecordView) -> R) throws(StorageError) -> R?

    /// Removes every record quickly, without stalling other callers for long.
    func removeAll() throws(StorageError)

    /// Number of records, expired ones and tombstones included.
    var recordCount: Int { get }
    /// Number of those records that are tombstones (`ItemHeader.isTombstone`).
    var tombstoneCount: Int { get }
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
