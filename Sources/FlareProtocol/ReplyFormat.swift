/// Formatting of the replies that carry data, straight into a connection's reply buffer.
extension ReplyBuffer {
    /// `VALUE <key> <flags> <bytes>[ <cas>]\r\n<data>\r\n`
    @inline(__always)
    public func appendValue(key: UnsafeRawBufferPointer, flags: UInt32, value: UnsafeRawBufferPointer, cas: UInt64?) {
        reserve(key.count + value.count + 64)
        append("VALUE ")
        append(key)
        append(byte: 0x20)
        appendDecimal(UInt64(flags))
        append(byte: 0x20)
        appendDecimal(UInt64(value.count))
        if let cas {
            append(byte: 0x20)
            appendDecimal(cas)
        }
        appendCRLF()
        append(value)
        appendCRLF()
    }

    /// `STAT <name> <value>\r\n`
    public func appendStat(_ name: String, _ value: String) {
        append("STAT ")
        append(name)
        append(byte: 0x20)
        append(value)
        appendCRLF()
    }

    public func appendStat(_ name: String, _ value: UInt64) {
        append("STAT ")
        append(name)
        append(byte: 0x20)
        appendDecimal(value)
        appendCRLF()
    }
}
