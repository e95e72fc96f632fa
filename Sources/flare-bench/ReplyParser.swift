import Glibc

/// One complete memcached text-protocol reply, as far as the load generator cares.
enum Reply: Equatable {
    /// `END` closing a retrieval; `values` is the number of `VALUE` blocks before it.
    case end(values: Int)
    case stored
    case serverError
    case clientError
    case error
    /// Any other complete line (`NOT_STORED`, `EXISTS`, `NOT_FOUND`, garbage, ...).
    case unexpected
    /// The stream cannot be followed any more (e.g. a `VALUE` line without a byte count).
    case malformed
}

/// Incremental reply parser. It never copies or allocates: value data is skipped by
/// count, so a reply may be split across any number of reads, and one read may hold
/// many replies. Only a single line must fit in the caller's buffer.
struct ReplyParser {
    /// Bytes of value data (including its trailing CRLF) still to skip.
    private(set) var dataRemaining = 0
    /// `VALUE` blocks seen since the last complete reply.
    private(set) var values = 0

    /// Consumes bytes from `buf[start..<end]` and returns the next complete reply, or nil
    /// when more input is needed; `start` is advanced past everything consumed (a partial
    /// line is left in place for the next call).
    mutating func next(_ buf: UnsafePointer<UInt8>, _ start: inout Int, _ end: Int) -> Reply? {
        while true {
            if dataRemaining > 0 {
                let skip = min(dataRemaining, end - start)
                dataRemaining -= skip
                start += skip
                if dataRemaining > 0 { return nil }
            }
            guard start < end,
                  let nlRaw = memchr(buf + start, 0x0A, end - start) else { return nil }
            let nl = UnsafePointer<UInt8>(nlRaw.assumingMemoryBound(to: UInt8.self)) - buf
            let lineStart = start
            var lineEnd = nl
            if lineEnd > lineStart && buf[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            start = nl + 1
            let line = UnsafeBufferPointer(start: buf + lineStart, count: lineEnd - lineStart)

            if Self.hasPrefix(line, "VALUE ") {
                guard let bytes = Self.valueBytes(line) else { values = 0; return .malformed }
                values += 1
                dataRemaining = bytes + 2
                continue
            }
            let found = values
            values = 0
            if Self.equals(line, "END") { return .end(values: found) }
            if Self.equals(line, "STORED") { return .stored }
            if Self.equals(line, "ERROR") { return .error }
            if Self.hasPrefix(line, "SERVER_ERROR") { return .serverError }
            if Self.hasPrefix(line, "CLIENT_ERROR") { return .clientError }
            return .unexpected
        }
    }

    /// The `<bytes>` field of `VALUE <key> <flags> <bytes> [<cas>]`.
    private static func valueBytes(_ line: UnsafeBufferPointer<UInt8>) -> Int? {
        var field = 0
        var i = 0
        let n = line.count
        while i < n {
            while i < n && line[i] == 0x20 { i += 1 }
            if i == n { break }
            if field == 3 {
                var v = 0
                var digits = 0
                while i < n && line[i] != 0x20 {
                    let d = Int(line[i]) - 48
                    guard d >= 0 && d <= 9, digits < 10 else { return nil }
                    v = v * 10 + d
                    digits += 1
                    i += 1
                }
                return v
            }
            while i < n && line[i] != 0x20 { i += 1 }
            field += 1
        }
        return nil
    }

    private static func hasPrefix(_ line: UnsafeBufferPointer<UInt8>, _ p: StaticString) -> Bool {
        let n = p.utf8CodeUnitCount
        guard line.count >= n else { return false }
        return memcmp(line.baseAddress!, p.utf8Start, n) == 0
    }

    private static func equals(_ line: UnsafeBufferPointer<UInt8>, _ p: StaticString) -> Bool {
        line.count == p.utf8CodeUnitCount && hasPrefix(line, p)
    }
}
