/// Where a configuration value came from, so error messages and reload logs
/// can point the operator at the exact place to fix.
public enum ConfigLocation: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// A line of a config file; `path` is spelled as it was given to `-f`.
    case file(path: String, line: Int)
    /// A `--long-option` on the command line.
    case commandLine

    public var description: String {
        switch self {
        case let .file(path, line): "\(path):\(line)"
        case .commandLine: "command line"
        }
    }

    /// How a key is spelled at this location: as written in a file, or as the
    /// option the operator typed.
    func spelling(of key: String) -> String {
        switch self {
        case .file: "'\(key)'"
        case .commandLine: "'--\(key)'"
        }
    }
}
