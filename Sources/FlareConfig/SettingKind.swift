/// The type of a configuration key's value, which decides how text from a
/// file or the command line is checked and what an error message asks for.
enum SettingKind: Sendable {
    /// A decimal integer inside `range`.
    case integer(ClosedRange<Int>)
    /// Any text, including the empty string.
    case text
    /// Text that must not be empty (names, paths, addresses).
    case nonEmptyText
    /// One of a fixed set of words (compared case-sensitively, as flare does).
    case choice([String])
    /// A value-bearing boolean: `--key true` on the command line.
    case boolean
    /// A value-less switch on the command line (`--daemonize`); in a file it is
    /// written with a boolean value.
    case toggle
    /// `name:port[,name:port...]`.
    case indexServerList
    /// `file:///dir` or `zookeeper://host:port[,host:port...]/path`.
    case indexDatabase

    /// What a valid value looks like, phrased to follow "must be".
    var expectation: String {
        switch self {
        case let .integer(range):
            "an integer from \(range.lowerBound) to \(range.upperBound)"
        case .text:
            "text"
        case .nonEmptyText:
            "a non-empty value"
        case let .choice(words):
            "one of " + words.map { $0.isEmpty ? "'' (empty)" : $0 }.joined(separator: ", ")
        case .boolean, .toggle:
            "a boolean (true/false, yes/no, on/off, 1/0)"
        case .indexServerList:
            "a list of name:port separated by commas (e.g. 'index1:12120,index2:12120')"
        case .indexDatabase:
            "'file:///absolute/dir' or 'zookeeper://host:port[,host:port...]/path'"
        }
    }

    /// Placeholder shown after the option in `--help`.
    var valueName: String {
        switch self {
        case .integer: "n"
        case .text, .nonEmptyText: "value"
        case let .choice(words): words.filter { !$0.isEmpty }.joined(separator: "|")
        case .boolean, .toggle: "bool"
        case .indexServerList: "name:port,..."
        case .indexDatabase: "uri"
        }
    }
}

extension ClosedRange where Bound == Int {
    /// TCP ports a daemon can listen on or connect to.
    static let port = 1...65535
    /// Counts and sizes that must be at least one; the upper bound is the
    /// original's C `int`, so files valid for flare stay valid here.
    static let positive = 1...Int(Int32.max)
    /// Counts, intervals and limits where zero means "off" or "unlimited".
    static let nonNegative = 0...Int(Int32.max)
    /// Keys the original declared as `uint32_t`.
    static let unsigned32 = 0...Int(UInt32.max)
}
