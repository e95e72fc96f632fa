import CTkrzw

/// Iterates a Tkrzw database with its iterator (never `process_each`, which
/// blocks writers for the whole pass). Each record is copied into the cursor's
/// own buffer under that record's lock alone, then handed to the caller;
/// nothing is held between calls.
/// Threads: one at a time (see RecordCursor).
final class TkrzwRecordCursor: RecordCursor {
    /// Keeps the database object alive as long as the iterator exists.
    private let engine: TkrzwEngine
    private var iterator: UnsafeMutablePointer<TkrzwDBMIter>?
    private let buffer: UnsafeMutablePointer<ScratchBuffer>

    init(engine: TkrzwEngine, iterator: UnsafeMutablePointer<TkrzwDBMIter>) {
        self.engine = engine
        self.iterator = iterator
        buffer = .allocate(capacity: 1)
        buffer.initialize(to: ScratchBuffer())
    }

    deinit {
        // Safe after the database was closed: Tkrzw detaches its iterators on close.
        if let iterator { tkrzw_dbm_iter_free(iterator) }
        buffer.pointee.release()
        buffer.deinitialize(count: 1)
        buffer.deallocate()
    }

    func next(maxRecords: Int, _ body: (UnsafeRawBufferPointer, RecordView) -> Void) throws(StorageError) -> Bool {
        guard let iterator else { return false }
        try engine.checkOpen()
        defer { buffer.pointee.trim() }
        var visited = 0
        while visited < maxRecords {
            var context = CursorContext(buffer: buffer, keyCount: 0, valueCount: CursorContext.outOfMemory)
            let processed = withUnsafeMutablePointer(to: &context) {
                tkrzw_dbm_iter_process(iterator, cursorProcessor, $0, false)
            }
            if processed {
                guard context.valueCount != CursorContext.outOfMemory else {
                    throw .io(path: engine.location, detail: "out of memory copying a record during iteration")
                }
                let copied = buffer.pointee.bytes(context.keyCount + context.valueCount)
                let key = UnsafeRawBufferPointer(rebasing: copied[..<context.keyCount])
                let record = UnsafeRawBufferPointer(rebasing: copied[context.keyCount...])
                guard let view = RecordLayout.decode(record) else { throw engine.corruptRecord(key) }
                body(key, view)
                visited += 1
            } else if tkrzw_get_last_status_code() != Int32(TKRZW_STATUS_NOT_FOUND_ERROR) {
                throw engine.lastError()
            }
            // NOT_FOUND means either that the current record was removed under
            // us (move on) or that the iteration is over (moving on fails too).
            if !tkrzw_dbm_iter_next(iterator) {
                if tkrzw_get_last_status_code() == Int32(TKRZW_STATUS_NOT_FOUND_ERROR) {
                    tkrzw_dbm_iter_free(iterator)
                    self.iterator = nil
                    return false
                }
                throw engine.lastError()
            }
        }
        return true
    }
}

private struct CursorContext {
    static let outOfMemory = -1

    var buffer: UnsafeMutablePointer<ScratchBuffer>
    var keyCount: Int
    var valueCount: Int
}

/// Copies key then value into the cursor's buffer.
private let cursorProcessor: tkrzw_record_processor = { arg, key, keyCount, value, valueCount, _ in
    let context = arg!.assumingMemoryBound(to: CursorContext.self)
    guard let key, let value else { return TKRZW_REC_PROC_NOOP }
    let keyBytes = Int(keyCount)
    let valueBytes = Int(valueCount)
    guard let copy = context.pointee.buffer.pointee.reserve(keyBytes + valueBytes) else { return TKRZW_REC_PROC_NOOP }
    copy.copyMemory(from: key, byteCount: keyBytes)
    (copy + keyBytes).copyMemory(from: value, byteCount: valueBytes)
    context.pointee.keyCount = keyBytes
    context.pointee.valueCount = valueBytes
    return TKRZW_REC_PROC_NOOP
}
