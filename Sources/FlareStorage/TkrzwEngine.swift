import Atomics
import CTkrzw
#if canImport(Glibc)
import Glibc
#endif

/// Persistent storage in a Tkrzw HashDBM file (`<dataDir>/flare.tkh`), serving
/// the "tch", "kch" and "tcb" storage types. Record values use RecordLayout.
///
/// Atomicity comes from Tkrzw itself: `tkrzw_dbm_process` runs our callback
/// under the record's bucket lock, so read-modify-write needs no lock of ours.
/// Durability: HashDBM updates the file in place through a shared mmap, so a
/// write that returned survives kill -9 (the page cache holds it), and the
/// default restore mode repairs the file on the next open. RESTORE_SYNC is
/// never used: it restores only up to the last sync and dropped records in
/// our crash tests.
///
/// Tombstones are counted as updates write and remove them. The count survives a
/// clean close in `flare.tombstones` (removed on open, so that a crash leaves no
/// stale count); without that file, opening a non-empty database counts them with
/// one pass over it.
///
/// Threads: any thread may call anything except `close()` concurrently;
/// `close()` is called once the other calls have returned.
/// @unchecked: owns the Tkrzw handle (thread-safe in Tkrzw) and the data directory's flock.
final class TkrzwEngine: StorageEngine, @unchecked Sendable {
    static let fileName = "flare.tkh"
    static let tombstoneCountFileName = "flare.tombstones"
    /// Tkrzw's own default: the configured flare default (131071, tuned for
    /// Tokyo Cabinet) makes chains long enough to halve throughput.
    static let minimumBuckets = 1_048_583

    let mappingNote: String?
    let location: String
    private let dbm: UnsafeMutablePointer<TkrzwDBM>
    private let directoryLock: DataDirectoryLock
    private let isClosed = ManagedAtomic<Bool>(false)
    private let tombstones = ManagedAtomic<Int>(0)
    private let tombstoneCountPath: String

    private init(dbm: UnsafeMutablePointer<TkrzwDBM>, path: String, lock: DataDirectoryLock, mappingNote: String?,
                 tombstoneCountPath: String) {
        self.dbm = dbm
        self.location = path
        self.directoryLock = lock
        self.mappingNote = mappingNote
        self.tombstoneCountPath = tombstoneCountPath
    }

    deinit { close() }

    /// Locks `dataDir` and opens (or creates) its database.
    static func open(dataDir: String, bucketSize: Int, mappingNote: String?) throws(StorageError) -> TkrzwEngine {
        let lock = try DataDirectoryLock.acquire(dataDir: dataDir)
        let path = dataDir + "/" + fileName
        let buckets = max(bucketSize, minimumBuckets)
        let params = "dbm=HashDBM,num_buckets=\(buckets),restore_mode=RESTORE_DEFAULT,no_wait=true"
        guard let dbm = tkrzw_dbm_open(path, true, params) else {
            let detail = lastStatusText()
            lock.release()
            throw .openFailed(path: path, detail: detail)
        }
        guard tkrzw_dbm_is_healthy(dbm) else {
            tkrzw_dbm_close(dbm)
            lock.release()
            throw .openFailed(path: path, detail: "database is damaged and could not be restored")
        }
        let engine = TkrzwEngine(dbm: dbm, path: path, lock: lock, mappingNote: mappingNote,
                                 tombstoneCountPath: dataDir + "/" + tombstoneCountFileName)
        engine.tombstones.store(engine.takeSavedTombstoneCount() ?? engine.countTombstones(), ordering: .relaxed)
        return engine
    }

    var recordCount: Int { isClosed.load(ordering: .acquiring) ? 0 : max(0, Int(tkrzw_dbm_count(dbm))) }
    var tombstoneCount: Int { max(0, tombstones.load(ordering: .relaxed)) }
    var byteSize: Int { isClosed.load(ordering: .acquiring) ? 0 : max(0, Int(tkrzw_dbm_get_file_size(dbm))) }

    /// The record is copied into this thread's scratch buffer inside Tkrzw's
    /// callback and `body` runs on that copy once the record lock is released:
    /// a C callback cannot call a non-escaping Swift closure without allocating.
    func read<R>(_ key: UnsafeRawBufferPointer, _ body: (RecordView?) -> R) throws(StorageError) -> R {
        try checkOpen()
        let scratch = ScratchBuffer.forCurrentThread()
        defer { scratch.pointee.trim() }
        var context = ReadContext(scratch: scratch, copied: ReadContext.absent)
        let succeeded = withUnsafeMutablePointer(to: &context) { context in
            withCKey(key) { keyPointer, keyCount in
                tkrzw_dbm_process(dbm, keyPointer, keyCount, readProcessor, context, false)
            }
        }
        guard succeeded else { throw lastError() }
        switch context.copied {
        case ReadContext.absent:
            return body(nil)
        case ReadContext.outOfMemory:
            throw .io(path: location, detail: "out of memory reading a record of a \(key.count)-byte key")
        default:
            guard let view = RecordLayout.decode(scratch.pointee.bytes(context.copied)) else { throw corruptRecord(key) }
            return body(view)
        }
    }

    func update<U: RecordUpdater, R>(_ key: UnsafeRawBufferPointer, _ updater: inout U,
                                     written: (RecordView) -> R) throws(StorageError) -> R? {
        try checkOpen()
        let scratch = ScratchBuffer.forCurrentThread()
        defer { scratch.pointee.trim() }
        var context = UpdateContext(updaterType: U.self, updater: nil, scratch: scratch, failure: nil, writtenCount: 0,
                                    tombstoneChange: 0)
        let succeeded = withUnsafeMutablePointer(to: &updater) { updater in
            context.updater = UnsafeMutableRawPointer(updater)
            return withUnsafeMutablePointer(to: &context) { context in
                withCKey(key) { keyPointer, keyCount in
                    tkrzw_dbm_process(dbm, keyPointer, keyCount, updateProcessor, context, true)
                }
            }
        }
        guard succeeded else { throw lastError() }
        if context.tombstoneChange != 0 { tombstones.wrappingIncrement(by: context.tombstoneChange, ordering: .relaxed) }
        switch context.failure {
        case .none:
            break
        case .corrupt?:
            throw corruptRecord(key)
        case .tooLarge(let bytes)?:
            throw .itemTooLarge(bytes: bytes, limit: Int(Int32.max))
        case .outOfMemory(let bytes)?:
            throw .io(path: location, detail: "out of memory composing a record of \(bytes) bytes")
        }
        // The record Tkrzw just stored is still in the scratch buffer.
        guard context.writtenCount > 0,
              let stored = RecordLayout.decode(scratch.pointee.bytes(context.writtenCount)) else { return nil }
        return written(stored)
    }

    func removeAll() throws(StorageError) {
        try checkOpen()
        guard tkrzw_dbm_clear(dbm) else { throw lastError() }
        tombstones.store(0, ordering: .relaxed)
    }

    func makeRecordCursor() throws(StorageError) -> any RecordCursor {
        try checkOpen()
        guard let iterator = tkrzw_dbm_make_iterator(dbm) else { throw lastError() }
        guard tkrzw_dbm_iter_first(iterator) else {
            let error = lastError()
            tkrzw_dbm_iter_free(iterator)
            throw error
        }
        return TkrzwRecordCursor(engine: self, iterator: iterator)
    }

    func close() {
        guard !isClosed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        // A failed close leaves the file for restore-on-open, which then counts tombstones afresh.
        if tkrzw_dbm_close(dbm) { saveTombstoneCount() }
        directoryLock.release()
    }

    /// Reads and removes the count a clean close left; nil if there is none (or it cannot be removed).
    private func takeSavedTombstoneCount() -> Int? {
        let fd = Glibc.open(tombstoneCountPath, O_RDONLY)
        guard fd >= 0 else { return nil }
        var bytes = [UInt8](repeating: 0, count: 32)
        let count = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        Glibc.close(fd)
        guard unlink(tombstoneCountPath) == 0, count > 0,
              let value = Int(String(decoding: bytes[..<count].filter { $0 != 0x0A }, as: UTF8.self)),
              value >= 0 else { return nil }
        return value
    }

    private func saveTombstoneCount() {
        let fd = Glibc.open(tombstoneCountPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { return }
        let text = Array("\(tombstoneCount)\n".utf8)
        let written = text.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        Glibc.close(fd)
        if written != text.count { unlink(tombstoneCountPath) }
    }

    /// One pass over the records (an older data file, or after a crash). A record that is
    /// not a flare record ends the count early: its reads report it, the count is only for stats.
    private func countTombstones() -> Int {
        guard tkrzw_dbm_count(dbm) > 0, let cursor = try? makeRecordCursor() else { return 0 }
        var found = 0
        while true {
            guard let more = try? cursor.next(maxRecords: 4096, { _, record in
                if record.header.isTombstone { found += 1 }
            }) else { break }
            if !more { break }
        }
        return found
    }

    func checkOpen() throws(StorageError) {
        if isClosed.load(ordering: .acquiring) { throw .closed(path: location) }
    }

    /// The error of the last failed Tkrzw call on this thread.
    func lastError() -> StorageError {
        .io(path: location, detail: lastStatusText())
    }

    func corruptRecord(_ key: UnsafeRawBufferPointer) -> StorageError {
        .io(path: location, detail: "record of a \(key.count)-byte key is not a flare record (bad header)")
    }
}

func lastStatusText() -> String {
    let code = tkrzw_get_last_status_code()
    let name = String(cString: tkrzw_status_code_name(code))
    let message = tkrzw_get_last_status_message().map { String(cString: $0) } ?? ""
    return message.isEmpty ? name : "\(name): \(message)"
}

/// Calls `body` with the key as Tkrzw wants it; an empty key gets a valid pointer.
@inline(__always)
func withCKey<R>(_ key: UnsafeRawBufferPointer, _ body: (UnsafePointer<CChar>, Int32) -> R) -> R {
    if let base = key.baseAddress {
        return body(base.assumingMemoryBound(to: CChar.self), Int32(key.count))
    }
    var empty: CChar = 0
    return withUnsafePointer(to: &empty) { body($0, 0) }
}

// MARK: - Record processors (C callbacks cannot capture: context travels in `arg`)

private struct ReadContext {
    static let absent = -1
    static let outOfMemory = -2

    var scratch: UnsafeMutablePointer<ScratchBuffer>
    /// Bytes copied into `scratch`, or `absent` / `outOfMemory`.
    var copied: Int
}

private enum UpdateFailure {
    case corrupt
    case tooLarge(Int)
    case outOfMemory(Int)
}

private struct UpdateContext {
    var updaterType: any RecordUpdater.Type
    var updater: UnsafeMutableRawPointer?
    var scratch: UnsafeMutablePointer<ScratchBuffer>
    var failure: UpdateFailure?
    /// Size of the record composed in `scratch` when the updater chose to write.
    var writtenCount: Int
    /// Tombstones added (+1) or removed (-1) by this update.
    var tombstoneChange: Int
}

private let readProcessor: tkrzw_record_processor = { arg, _, _, value, valueCount, _ in
    let context = arg!.assumingMemoryBound(to: ReadContext.self)
    guard let value else { return TKRZW_REC_PROC_NOOP }
    let count = Int(valueCount)
    guard let copy = context.pointee.scratch.pointee.reserve(count) else {
        context.pointee.copied = ReadContext.outOfMemory
        return TKRZW_REC_PROC_NOOP
    }
    copy.copyMemory(from: value, byteCount: count)
    context.pointee.copied = count
    return TKRZW_REC_PROC_NOOP
}

private let updateProcessor: tkrzw_record_processor = { arg, _, _, value, valueCount, newValueCount in
    let context = arg!.assumingMemoryBound(to: UpdateContext.self)
    var current: RecordView?
    if let value {
        guard let view = RecordLayout.decode(UnsafeRawBufferPointer(start: value, count: Int(valueCount))) else {
            context.pointee.failure = .corrupt
            return TKRZW_REC_PROC_NOOP
        }
        current = view
    }
    switch context.pointee.updaterType.decide(at: context.pointee.updater!, current) {
    case .keep:
        return TKRZW_REC_PROC_NOOP
    case .remove:
        guard let current else { return TKRZW_REC_PROC_NOOP }
        if current.header.isTombstone { context.pointee.tombstoneChange = -1 }
        return TKRZW_REC_PROC_REMOVE
    case .write(let header, let first, let second):
        let dataCount = first.count + second.count
        let total = RecordLayout.headerSize + dataCount
        guard total <= Int(Int32.max) else {
            context.pointee.failure = .tooLarge(total)
            return TKRZW_REC_PROC_NOOP
        }
        // The record must outlive this callback (Tkrzw writes it after we
        // return), hence the thread's scratch rather than a local buffer.
        guard let buffer = context.pointee.scratch.pointee.reserve(total) else {
            context.pointee.failure = .outOfMemory(total)
            return TKRZW_REC_PROC_NOOP
        }
        RecordLayout.encode(header, dataSize: dataCount, into: buffer)
        if let base = first.baseAddress, first.count > 0 {
            (buffer + RecordLayout.headerSize).copyMemory(from: base, byteCount: first.count)
        }
        if let base = second.baseAddress, second.count > 0 {
            (buffer + RecordLayout.headerSize + first.count).copyMemory(from: base, byteCount: second.count)
        }
        newValueCount!.pointee = Int32(total)
        context.pointee.writtenCount = total
        let wasTombstone = current?.header.isTombstone ?? false
        if header.isTombstone != wasTombstone { context.pointee.tombstoneChange = header.isTombstone ? 1 : -1 }
        return UnsafePointer(buffer.assumingMemoryBound(to: CChar.self))
    }
}
