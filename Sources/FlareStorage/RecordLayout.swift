/// flare's on-disk record value (docs/original-behaviour.md, "Items and storage records"), kept so an existing
/// layout can be read: a 28-byte little-endian header followed by the item data.
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 4 | flags |
/// | 4 | 8 | expire (absolute seconds, 0 = never) |
/// | 12 | 8 | data size; the top bit marks a tombstone |
/// | 20 | 8 | version |
/// | 28 | size | data |
///
/// The tombstone bit is our extension: no real data size reaches 2^63, so
/// records written before tombstones existed (bit clear) read as items, as
/// they always did. A build without tombstones rejects a record with the bit
/// set as "not a flare record".
///
/// Pure functions: any thread.
enum RecordLayout {
    static let headerSize = 28
    static let tombstoneBit: UInt64 = 1 << 63

    static func encode(_ header: ItemHeader, dataSize: Int, into buffer: UnsafeMutableRawPointer) {
        let size = UInt64(dataSize) | (header.isTombstone ? tombstoneBit : 0)
        buffer.storeBytes(of: header.flags.littleEndian, toByteOffset: 0, as: UInt32.self)
        buffer.storeBytes(of: header.expire.littleEndian, toByteOffset: 4, as: Int64.self)
        buffer.storeBytes(of: size.littleEndian, toByteOffset: 12, as: UInt64.self)
        buffer.storeBytes(of: header.version.littleEndian, toByteOffset: 20, as: UInt64.self)
    }

    /// Splits a stored record into header and data; nil if it is not a flare record.
    static func decode(_ record: UnsafeRawBufferPointer) -> RecordView? {
        guard record.count >= headerSize, let base = record.baseAddress else { return nil }
        let flags = UInt32(littleEndian: record.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        let expire = Int64(littleEndian: record.loadUnaligned(fromByteOffset: 4, as: Int64.self))
        let sizeField = UInt64(littleEndian: record.loadUnaligned(fromByteOffset: 12, as: UInt64.self))
        let version = UInt64(littleEndian: record.loadUnaligned(fromByteOffset: 20, as: UInt64.self))
        let size = sizeField & ~tombstoneBit
        guard size == UInt64(record.count - headerSize) else { return nil }
        var header = ItemHeader(flags: flags, expire: expire, version: version)
        header.isTombstone = sizeField & tombstoneBit != 0
        return RecordView(header: header, value: UnsafeRawBufferPointer(start: base + headerSize, count: Int(size)))
    }

    /// Whether a stored record is a tombstone, without decoding the rest (nil if not a flare record).
    static func isTombstone(_ record: UnsafeRawBufferPointer) -> Bool {
        guard record.count >= headerSize else { return false }
        return UInt64(littleEndian: record.loadUnaligned(fromByteOffset: 12, as: UInt64.self)) & tombstoneBit != 0
    }
}
