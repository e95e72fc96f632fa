#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads flare's INI-like config files: `key = value` per line, `#` starts a
/// comment (anywhere on a line, as in Boost.Program_options), blank lines are
/// ignored, keys are the long option names.
enum ConfigFileReader {
    static func read<Key: SettingKey>(path: String, keys: Key.Type) throws(ConfigError) -> RawSettings<Key> {
        try parse(try contents(ofFile: path), path: path, keys: keys)
    }

    static func parse<Key: SettingKey>(_ contents: String, path: String, keys: Key.Type) throws(ConfigError) -> RawSettings<Key> {
        var settings = RawSettings<Key>()
        // Split on the byte: in Swift "\r\n" is one Character, so splitting
        // on Character "\n" would leave CR LF files as a single line.
        let lines = Array(contents.utf8).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        for (index, bytes) in lines.enumerated() {
            let location = ConfigLocation.file(path: path, line: index + 1)
            let line = String(decoding: bytes, as: UTF8.self)
            let content = line.prefix { $0 != "#" }.trimmingConfigWhitespace()
            if content.isEmpty { continue }

            guard let equals = content.firstIndex(of: "=") else {
                throw .malformedLine(location, text: content)
            }
            let name = content[..<equals].trimmingConfigWhitespace()
            let value = content[content.index(after: equals)...].trimmingConfigWhitespace()
            guard !name.isEmpty else { throw .malformedLine(location, text: content) }
            guard let key = Key(rawValue: name) else { throw .unknownKey(location, key: name) }
            try settings.add(key, RawSetting(text: value, location: location))
        }
        return settings
    }

    private static func contents(ofFile path: String) throws(ConfigError) -> String {
        guard let file = fopen(path, "r") else {
            throw .unreadableFile(path: path, reason: systemError())
        }
        defer { fclose(file) }

        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            bytes.append(contentsOf: chunk[0..<count])
            if count < chunk.count { break }
        }
        // fopen() succeeds on a directory; the failure only shows up here.
        if ferror(file) != 0 {
            throw .unreadableFile(path: path, reason: systemError())
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func systemError() -> String {
        String(cString: strerror(errno))
    }
}
