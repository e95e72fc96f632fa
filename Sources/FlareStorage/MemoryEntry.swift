#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One item of the memory engine: this header, then the key bytes, then the
/// value bytes, in a single malloc'd block.
struct MemoryEntry {
    /// Next entry in the same hash bucket.
    var chainNext: UnsafeMutablePointer<MemoryEntry>?
    /// Neighbours in the shard's LRU list.
    var newer: UnsafeMutablePointer<MemoryEntry>?
    var older: UnsafeMutablePointer<MemoryEntry>?
    var hash: UInt64
    /// Position in the shard's slot table, stable for the entry's life (see MemoryShard).
    var slot: Int32
    var keyCount: Int32
    var valueCount: Int
    var item: ItemHeader

    static let headerBytes = MemoryLayout<MemoryEntry>.stride

    /// Bytes charged against the memory limit for an item of this shape.
    static func footprint(keyCount: Int, valueCount: Int) -> Int {
        headerBytes + keyCount + valueCount
    }

    /// Allocates an entry holding `key` and the value `first + second`; nil if malloc fails.
    static func make(key: UnsafeRawBufferPointer, hash: UInt64, item: ItemHeader,
                     first: UnsafeRawBufferPointer, second: UnsafeRawBufferPointer) -> UnsafeMutablePointer<MemoryEntry>? {
        let valueCount = first.count + second.count
        guard let raw = malloc(footprint(keyCount: key.count, valueCount: valueCount)) else { return nil }
        let entry = raw.bindMemory(to: MemoryEntry.self, capacity: 1)
        entry.initialize(to: MemoryEntry(chainNext: nil, newer: nil, older: nil, hash: hash, slot: -1,
                                         keyCount: Int32(key.count), valueCount: valueCount, item: item))
        if let base = key.baseAddress { (raw + headerBytes).copyMemory(from: base, byteCount: key.count) }
        entry.writeValue(first, second)
        return entry
    }
}

extension UnsafeMutablePointer where Pointee == MemoryEntry {
    var keyBytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: UnsafeRawPointer(self) + MemoryEntry.headerBytes, count: Int(pointee.keyCount))
    }

    var valueBytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: UnsafeRawPointer(self) + MemoryEntry.headerBytes + Int(pointee.keyCount),
                               count: pointee.valueCount)
    }

    var footprint: Int { MemoryEntry.footprint(keyCount: Int(pointee.keyCount), valueCount: pointee.valueCount) }

    var view: RecordView { RecordView(header: pointee.item, value: valueBytes) }

    /// Overwrites the value with `first + second`, whose total must equal the
    /// current value size. memmove, because `first` may be this very value (touch).
    func writeValue(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer) {
        let start = UnsafeMutableRawPointer(self) + MemoryEntry.headerBytes + Int(pointee.keyCount)
        if let base = first.baseAddress, first.count > 0 { memmove(start, base, first.count) }
        if let base = second.baseAddress, second.count > 0 { memmove(start + first.count, base, second.count) }
    }

    func hasKey(_ key: UnsafeRawBufferPointer, hash: UInt64) -> Bool {
        guard pointee.hash == hash, Int(pointee.keyCount) == key.count else { return false }
        guard key.count > 0 else { return true }
        return memcmp(UnsafeRawPointer(self) + MemoryEntry.headerBytes, key.baseAddress!, key.count) == 0
    }

    func release() {
        deinitialize(count: 1)
        free(UnsafeMutableRawPointer(self))
    }
}
