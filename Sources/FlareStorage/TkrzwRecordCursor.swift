import CTkrzw

/// Iterates a Tkrzw database with its iterator (never `process_each`, which
/// blocks writers for the whole pass). Each record is read under its own
/// record lock only; nothing is held between calls.
/// Threads: one at a time (see RecordCursor).
final class TkrzwRecordCursor: RecordCursor {
    /// Keeps the database object alive as long as the iterator exists.
    private let engine: TkrzwEngine
    private var iterator: UnsafeMutablePointer<TkrzwDBMIter>?

    init(engine: TkrzwEngine, iterator: UnsafeMutablePointer<TkrzwDBMIter>) {
        self.engine = engine
        self.iterator = iterator
    }

    deinit {
        // Safe after the database was closed: Tkrzw detaches its iterators on close.
        if let iterator { tkrzw_dbm_iter_free(iterator) }
    }

    func next(maxRecords: Int, _ body: (UnsafeRawBufferPointer, RecordView) -> Void) throws(StorageError) -> Bool {
        guard let iterator else { return false }
        try engine.checkOpen()
        var visited = 0
        var corruptKey: UnsafeRawBufferPointer?
        while visited < maxRecords {
            let processed = withoutActuallyEscaping({ (key: UnsafeRawBufferPointer, record: UnsafeRawBufferPointer) in
                guard let view = RecordLayout.decode(record) else { corruptKey = key; return }
                body(key, view)
            }) { visit in
                var context = CursorContext(visit: visit)
                return withUnsafeMutablePointer(to: &context) {
                    tkrzw_dbm_iter_process(iterator, cursorProcessor, $0, false)
                }
            }
            if let corruptKey { throw engine.corruptRecord(corruptKey) }
            if processed {
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
    var visit: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void
}

private let cursorProcessor: tkrzw_record_processor = { arg, key, keyCount, value, valueCount, _ in
    let context = arg!.assumingMemoryBound(to: CursorContext.self)
    if let key, let value {
        context.pointee.visit(UnsafeRawBufferPointer(start: key, count: Int(keyCount)),
                              UnsafeRawBufferPointer(start: value, count: Int(valueCount)))
    }
    return TKRZW_REC_PROC_NOOP
}
