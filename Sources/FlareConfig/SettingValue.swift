/// A configuration value after it passed its key's checks.
enum SettingValue: Equatable, Sendable {
    case integer(Int)
    case text(String)
    case boolean(Bool)
    case indexServers([IndexServerAddress])
    case indexDatabase(IndexDatabase)
}

extension SettingKind {
    /// Checks `text` against this kind; nil when it is not acceptable.
    func interpret(_ text: String) -> SettingValue? {
        switch self {
        case let .integer(range):
            guard let number = Int(text), range.contains(number) else { return nil }
            return .integer(number)
        case .text:
            return .text(text)
        case .nonEmptyText:
            return text.isEmpty ? nil : .text(text)
        case let .choice(words):
            return words.contains(text) ? .text(text) : nil
        case .boolean, .toggle:
            return Self.boolean(text).map(SettingValue.boolean)
        case .indexServerList:
            return IndexServerAddress.parseList(text).map(SettingValue.indexServers)
        case .indexDatabase:
            return IndexDatabase(uri: text).map(SettingValue.indexDatabase)
        }
    }

    /// The spellings Boost.Program_options accepts for a bool, case-insensitively.
    private static func boolean(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "true", "yes", "on", "1": true
        case "false", "no", "off", "0": false
        default: nil
        }
    }
}
