/// One incremental walk over a store that purges the tombstones whose retention
/// time has passed (and whose delete hold has ended). Each `step` visits a bounded
/// number of records and holds no lock between records, so a sweep never stalls
/// requests for long; the keys it finds due are purged after the cursor step,
/// each by its own engine update that checks the tombstone is still the one found.
///
/// Threads: one thread at a time (the sweep job's).
public final class TombstoneSweep {
    private let store: ItemStore
    private var cursor: (any RecordCursor)?
    /// Keys found due in the current step, back to back, with their lengths and versions.
    private var dueKeys: [UInt8] = []
    private var due: [(count: Int, version: UInt64)] = []

    init(store: ItemStore) {
        self.store = store
    }

    /// Visits up to `maxRecords` records of the current pass (starting a new pass
    /// if none is under way) and purges the tombstones due among them. Returns how
    /// many it purged and whether the pass ended with this step.
    public func step(maxRecords: Int, now: Int64) throws(StorageError) -> (purged: Int, passEnded: Bool) {
        if cursor == nil { cursor = try store.makeRecordCursor() }
        guard let cursor else { return (0, true) }
        let retention = store.tombstoneRetention
        dueKeys.removeAll(keepingCapacity: true)
        due.removeAll(keepingCapacity: true)
        let more: Bool
        do throws(StorageError) {
            more = try cursor.next(maxRecords: maxRecords) { key, record in
                guard record.header.isTombstone, record.header.isPurgeable(now: now, retention: retention) else { return }
                dueKeys.append(contentsOf: key)
                due.append((key.count, record.header.version))
            }
        } catch {
            self.cursor = nil
            throw error
        }
        if !more { self.cursor = nil }
        var purged = 0
        var failure: StorageError?
        dueKeys.withUnsafeBytes { bytes in
            var start = 0
            for entry in due {
                let end = start + entry.count
                do throws(StorageError) {
                    let key = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
                    if try store.purge(key, version: entry.version, now: now) { purged += 1 }
                } catch {
                    failure = error
                    return
                }
                start = end
            }
        }
        if let failure { throw failure }
        return (purged, !more)
    }
}
