/// Output formats of `dump` and `dumpkey`.
public enum DumpFormat: String, Sendable, CaseIterable {
    /// dump: `key flag len version expire 'data'` per item; dumpkey: the key alone.
    case standard = "default"
    /// A `#` header line, then RFC-4180-style rows (Ruby's CSV writer).
    case csv

    /// The original also offers `tch` (a Tokyo Cabinet file) when the tokyocabinet gem is
    /// installed; there is no Tokyo Cabinet library here, so it is refused like the original
    /// does without the gem.
    public static func parse(_ text: String?) throws -> DumpFormat {
        guard let text else { return .standard }
        guard let format = DumpFormat(rawValue: text) else {
            throw ToolError.invalidArgument("unknown format: \(text)")
        }
        return format
    }
}

/// Writes dumped items or keys in one DumpFormat.
public struct DumpWriter {
    public let format: DumpFormat
    public let sink: TextSink

    public init(format: DumpFormat, sink: TextSink) {
        self.format = format
        self.sink = sink
    }

    public func writeItemHeader() {
        if format == .csv { sink.write("# key, flag, len, version, expire, data\n") }
    }

    public func writeKeyHeader() {
        if format == .csv { sink.write("# key\n") }
    }

    public func write(_ item: DumpedItem) {
        switch format {
        case .standard:
            sink.write(bytes: Array("\(item.key) \(item.flag) \(item.length) \(item.version) \(item.expire) '".utf8)
                + item.data + Array("'\n".utf8))
        case .csv:
            let fields = [item.key, String(item.flag), String(item.length), String(item.version), String(item.expire)]
            sink.write(bytes: Array((fields.map(Self.csvField).joined(separator: ",") + ",").utf8)
                + Self.csvField(bytes: item.data) + [0x0A])
        }
    }

    public func write(key: String) {
        sink.write((format == .csv ? Self.csvField(key) : key) + "\n")
    }

    /// Quoted when the field holds a comma, quote or line break, or is empty; quotes doubled.
    static func csvField(_ text: String) -> String {
        String(decoding: csvField(bytes: Array(text.utf8)), as: UTF8.self)
    }

    static func csvField(bytes: [UInt8]) -> [UInt8] {
        let quote = UInt8(ascii: "\"")
        let needsQuotes = bytes.isEmpty || bytes.contains { $0 == UInt8(ascii: ",") || $0 == quote || $0 == 0x0A || $0 == 0x0D }
        guard needsQuotes else { return bytes }
        var quoted: [UInt8] = [quote]
        for byte in bytes {
            quoted.append(byte)
            if byte == quote { quoted.append(quote) }
        }
        quoted.append(quote)
        return quoted
    }
}
