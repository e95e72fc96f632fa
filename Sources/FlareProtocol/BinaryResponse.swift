/// Writing binary-protocol responses straight into a connection's reply buffer.
extension ReplyBuffer {
    /// The 24-byte response header for `request`'s opcode and opaque.
    @inline(__always)
    public func appendBinaryHeader(_ request: BinaryHeader, status: BinaryStatus, extrasLength: Int = 0,
                                   keyLength: Int = 0, bodyLength: Int, cas: UInt64 = 0) {
        reserve(BinaryProtocol.headerLength)
        let at = base + writeIndex
        at.storeBytes(of: BinaryProtocol.responseMagic, toByteOffset: 0, as: UInt8.self)
        at.storeBytes(of: request.opcode.rawValue, toByteOffset: 1, as: UInt8.self)
        at.storeBytes(of: UInt16(truncatingIfNeeded: keyLength).bigEndian, toByteOffset: 2, as: UInt16.self)
        at.storeBytes(of: UInt8(truncatingIfNeeded: extrasLength), toByteOffset: 4, as: UInt8.self)
        at.storeBytes(of: 0 as UInt8, toByteOffset: 5, as: UInt8.self)
        at.storeBytes(of: status.rawValue.bigEndian, toByteOffset: 6, as: UInt16.self)
        at.storeBytes(of: UInt32(truncatingIfNeeded: bodyLength).bigEndian, toByteOffset: 8, as: UInt32.self)
        at.storeBytes(of: request.opaque, toByteOffset: 12, as: UInt32.self)
        at.storeBytes(of: cas.bigEndian, toByteOffset: 16, as: UInt64.self)
        advance(BinaryProtocol.headerLength)
    }

    /// A response without extras or key: success with an optional body, or an error whose body
    /// is its message.
    public func appendBinaryResponse(_ request: BinaryHeader, status: BinaryStatus = .success,
                                     body: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
                                     cas: UInt64 = 0) {
        appendBinaryHeader(request, status: status, bodyLength: body.count, cas: cas)
        append(body)
    }

    /// An error with memcached's standard message for the status.
    public func appendBinaryError(_ request: BinaryHeader, _ status: BinaryStatus) {
        let message = status.message
        appendBinaryResponse(request, status: status,
                             body: UnsafeRawBufferPointer(start: message.utf8Start, count: message.utf8CodeUnitCount))
    }

    /// An error with a message of our own (why a node refused or failed).
    public func appendBinaryError(_ request: BinaryHeader, _ status: BinaryStatus, message: String) {
        var message = message
        message.withUTF8 { appendBinaryResponse(request, status: status, body: UnsafeRawBufferPointer($0)) }
    }

    /// A get/gat hit: flags as the extras, the key if asked for, the value.
    public func appendBinaryValue(_ request: BinaryHeader, flags: UInt32, key: UnsafeRawBufferPointer?,
                                  value: UnsafeRawBufferPointer, cas: UInt64) {
        let keyLength = key?.count ?? 0
        reserve(BinaryProtocol.headerLength + 4 + keyLength + value.count)
        appendBinaryHeader(request, status: .success, extrasLength: 4, keyLength: keyLength,
                           bodyLength: 4 + keyLength + value.count, cas: cas)
        appendBigEndian(flags)
        if let key { append(key) }
        append(value)
    }

    /// touch: the flags, no value.
    public func appendBinaryFlags(_ request: BinaryHeader, flags: UInt32, cas: UInt64) {
        appendBinaryHeader(request, status: .success, extrasLength: 4, bodyLength: 4, cas: cas)
        appendBigEndian(flags)
    }

    /// A miss answered with the key (getk, gatk): memcached puts the key in the body, no message.
    public func appendBinaryKeyMiss(_ request: BinaryHeader, key: UnsafeRawBufferPointer) {
        appendBinaryHeader(request, status: .keyNotFound, keyLength: key.count, bodyLength: key.count)
        append(key)
    }

    /// incr/decr: the new value as 8 bytes.
    public func appendBinaryCounter(_ request: BinaryHeader, value: UInt64, cas: UInt64) {
        appendBinaryHeader(request, status: .success, bodyLength: 8, cas: cas)
        appendBigEndian(value)
    }

    /// One stat; an empty name and value end the list.
    public func appendBinaryStat(_ request: BinaryHeader, name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        appendBinaryHeader(request, status: .success, keyLength: name.count, bodyLength: name.count + value.count)
        append(name)
        append(value)
    }

    @inline(__always)
    public func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        reserve(MemoryLayout<T>.size)
        (base + writeIndex).storeBytes(of: value.bigEndian, as: T.self)
        advance(MemoryLayout<T>.size)
    }
}
