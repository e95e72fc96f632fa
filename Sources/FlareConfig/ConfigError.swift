/// Everything that can be wrong with a configuration file or command line.
///
/// Each description is a single line that names the file and line (or the
/// command line) and the key, so an operator can go straight to the mistake.
public enum ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The config file could not be opened or read; `reason` is the system's.
    case unreadableFile(path: String, reason: String)
    /// A non-comment line that is not of the form `key = value`.
    case malformedLine(ConfigLocation, text: String)
    /// A key this daemon does not know (usually a typo).
    case unknownKey(ConfigLocation, key: String)
    /// The same key appears twice in one file; neither occurrence is obviously
    /// the intended one, so we refuse instead of silently picking one.
    case duplicateKey(key: String, first: ConfigLocation, second: ConfigLocation)
    /// A value that does not fit the key's type or range; `expected` describes
    /// what would have been accepted.
    case invalidValue(ConfigLocation, key: String, expected: String, value: String)
    /// A key that has no default and was given neither in the file nor on the
    /// command line.
    case missingRequired(key: String)
    /// Two keys that must not be used together were both given.
    case conflictingKeys(key: String, at: ConfigLocation, otherKey: String, otherAt: ConfigLocation)
    /// flared was given no way to reach an index server.
    case missingIndexServer
    /// The command line itself could not be parsed (unknown option, missing
    /// argument, …); `message` is argument-parser's, flattened to one line.
    case invalidCommandLine(message: String)

    public var description: String {
        switch self {
        case let .unreadableFile(path, reason):
            "\(path): cannot read the config file: \(reason)"
        case let .malformedLine(location, text):
            "\(location): expected 'key = value', got '\(text)'"
        case let .unknownKey(location, key):
            "\(location): unknown key \(location.spelling(of: key))"
        case let .duplicateKey(key, first, second):
            "\(second): \(second.spelling(of: key)) is given twice, \(Self.lines(first, second))"
        case let .invalidValue(location, key, expected, value):
            "\(location): \(location.spelling(of: key)) must be \(expected), got '\(value)'"
        case let .missingRequired(key):
            "'\(key)' is required: set it in the config file (-f) or pass --\(key)"
        case let .conflictingKeys(key, at, otherKey, otherAt):
            "\(at): \(at.spelling(of: key)) cannot be combined with \(otherAt.spelling(of: otherKey))"
                + " (\(otherAt)); use one or the other"
        case .missingIndexServer:
            "'index-server-port' is set but 'index-server-name' is not: set both, use 'index-servers', or neither to run standalone"
        case let .invalidCommandLine(message):
            "command line: \(message)"
        }
    }

    private static func lines(_ first: ConfigLocation, _ second: ConfigLocation) -> String {
        switch (first, second) {
        case let (.file(_, firstLine), .file(_, secondLine)):
            "on lines \(firstLine) and \(secondLine)"
        default:
            "at \(first) and \(second)"
        }
    }
}
