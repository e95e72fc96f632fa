#if canImport(Glibc)
import Glibc
#endif

/// A growable byte buffer that replies are formatted into before they are written to a socket.
///
/// Owned by exactly one connection and therefore used by one thread at a time; it is never shared.
/// The storage is reused across requests, so formatting a reply allocates nothing once the buffer
/// has grown to the connection's working size.
public final class ReplyBuffer {
    public private(set) var base: UnsafeMutableRawPointer
    public private(set) var capacity: Int
    /// Bytes already handed to the socket; they are dropped lazily by `compact()`.
    public private(set) var readIndex = 0
    public private(set) var writeIndex = 0

    public init(capacity: Int = 16 * 1024) {
        self.capacity = max(capacity, 64)
        self.base = UnsafeMutableRawPointer.allocate(byteCount: self.capacity, alignment: 16)
    }

    deinit { base.deallocate() }

    /// Bytes formatted but not yet written.
    @inlinable public var pendingCount: Int { writeIndex - readIndex }
    @inlinable public var isEmpty: Bool { writeIndex == readIndex }

    /// The unwritten bytes, valid until the next mutation.
    public var pending: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + readIndex, count: writeIndex - readIndex)
    }

    /// Marks `count` pending bytes as written.
    public func consume(_ count: Int) {
        readIndex += count
        if readIndex == writeIndex { readIndex = 0; writeIndex = 0 }
    }

    public func removeAll() { readIndex = 0; writeIndex = 0 }

    /// Marks `count` bytes written in place after `reserve` as part of the pending output.
    func advance(_ count: Int) { writeIndex += count }

    /// Drops pending bytes beyond the first `count` (a reply held back until replicas confirm).
    public func truncate(toPending count: Int) {
        writeIndex = min(writeIndex, readIndex + count)
    }

    /// Moves the pending bytes from `mark` to the end so they start at `position` instead, shifting
    /// the bytes in between behind them: a reply that arrived late takes the place held for it,
    /// ahead of replies formatted since. In place (three reversals), so it allocates nothing.
    public func moveTail(from mark: Int, to position: Int) {
        precondition(0 <= position && position <= mark && mark <= pendingCount, "moveTail out of range")
        guard position < mark, mark < pendingCount else { return }
        let start = readIndex + position, middle = readIndex + mark, end = writeIndex
        reverse(start, middle)
        reverse(middle, end)
        reverse(start, end)
    }

    private func reverse(_ from: Int, _ to: Int) {
        var low = from, high = to - 1
        while low < high {
            let byte = base.load(fromByteOffset: low, as: UInt8.self)
            base.storeBytes(of: base.load(fromByteOffset: high, as: UInt8.self), toByteOffset: low, as: UInt8.self)
            base.storeBytes(of: byte, toByteOffset: high, as: UInt8.self)
            low += 1
            high -= 1
        }
    }

    /// Gives memory back after a large reply (a big value or a dump batch) has been written.
    public func shrink(to size: Int) {
        guard isEmpty, capacity > size else { return }
        base.deallocate()
        capacity = size
        base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    @inline(__always)
    public func reserve(_ extra: Int) {
        if writeIndex + extra > capacity { grow(extra) }
    }

    private func grow(_ extra: Int) {
        let live = writeIndex - readIndex
        if readIndex > 0 && live + extra <= capacity {
            // Enough room once the written prefix is dropped.
            memmove(base, base + readIndex, live)
        } else {
            var newCapacity = capacity * 2
            while newCapacity < live + extra { newCapacity *= 2 }
            let newBase = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
            newBase.copyMemory(from: base + readIndex, byteCount: live)
            base.deallocate()
            base = newBase
            capacity = newCapacity
        }
        readIndex = 0
        writeIndex = live
    }

    @inline(__always)
    public func append(_ bytes: UnsafeRawBufferPointer) {
        guard let src = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(bytes.count)
        (base + writeIndex).copyMemory(from: src, byteCount: bytes.count)
        writeIndex += bytes.count
    }

    @inline(__always)
    public func append(_ text: StaticString) {
        append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Disfavoured so that literals take the `StaticString` path, which needs no String machinery.
    @_disfavoredOverload
    public func append(_ text: String) {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    @inline(__always)
    public func append(byte: UInt8) {
        reserve(1)
        base.storeBytes(of: byte, toByteOffset: writeIndex, as: UInt8.self)
        writeIndex += 1
    }

    @inline(__always)
    public func appendCRLF() {
        reserve(2)
        base.storeBytes(of: 0x0A0D as UInt16, toByteOffset: writeIndex, as: UInt16.self)
        writeIndex += 2
    }

    /// Appends the decimal text of `value` without going through String.
    @inline(__always)
    public func appendDecimal(_ value: UInt64) {
        reserve(20)
        if value < 10 {
            base.storeBytes(of: UInt8(truncatingIfNeeded: value) &+ 48, toByteOffset: writeIndex, as: UInt8.self)
            writeIndex += 1
            return
        }
        // Every copy carries a 16-digit version: count by comparison, write two digits per division.
        var digits = 2
        var limit: UInt64 = 100
        while digits < 20 && value >= limit {
            digits += 1
            limit = limit &* 10
        }
        var v = value
        var at = writeIndex + digits
        while v >= 100 {
            let quotient = v / 100
            let pair = UInt8(truncatingIfNeeded: v &- quotient &* 100)
            at -= 2
            base.storeBytes(of: pair / 10 &+ 48, toByteOffset: at, as: UInt8.self)
            base.storeBytes(of: pair % 10 &+ 48, toByteOffset: at + 1, as: UInt8.self)
            v = quotient
        }
        if v >= 10 {
            let pair = UInt8(truncatingIfNeeded: v)
            base.storeBytes(of: pair / 10 &+ 48, toByteOffset: at - 2, as: UInt8.self)
            base.storeBytes(of: pair % 10 &+ 48, toByteOffset: at - 1, as: UInt8.self)
        } else {
            base.storeBytes(of: UInt8(truncatingIfNeeded: v) &+ 48, toByteOffset: at - 1, as: UInt8.self)
        }
        writeIndex += digits
    }

    public func appendDecimal(_ value: Int64) {
        if value < 0 {
            append(byte: UInt8(ascii: "-"))
            appendDecimal(UInt64(bitPattern: 0 &- value))
        } else {
            appendDecimal(UInt64(value))
        }
    }
}
