/// Merges the config file with the command line (the command line wins) and
/// hands out typed values, falling back to each key's default.
struct SettingsResolver<Key: SettingKey> {
    private let file: RawSettings<Key>
    private let commandLine: RawSettings<Key>

    /// Checks every given value, including file values the command line
    /// overrides: a broken file should be reported now, not on the day the
    /// override is dropped.
    init(file: RawSettings<Key>, commandLine: RawSettings<Key>) throws(ConfigError) {
        self.file = file
        self.commandLine = commandLine
        for key in Key.allCases {
            for setting in [file[key], commandLine[key]].compactMap({ $0 }) {
                _ = try Self.interpret(setting, for: key)
            }
        }
    }

    /// The value in effect for `key`, if the operator gave one.
    func given(_ key: Key) -> RawSetting? {
        commandLine[key] ?? file[key]
    }

    func int(_ key: Key) -> Int {
        guard case let .integer(number) = value(key) else { wrongAccessor(key) }
        return number
    }

    /// Integer keys whose default is derived from other settings.
    func optionalInt(_ key: Key) -> Int? {
        guard given(key) != nil else { return nil }
        return int(key)
    }

    func text(_ key: Key) -> String {
        guard case let .text(text) = value(key) else { wrongAccessor(key) }
        return text
    }

    /// Text keys without a default; nil when not given.
    func optionalText(_ key: Key) -> String? {
        guard given(key) != nil || key.spec.hasDefaultValue else { return nil }
        return text(key)
    }

    /// Required text keys.
    func requiredText(_ key: Key) throws(ConfigError) -> String {
        guard given(key) != nil else { throw .missingRequired(key: key.name) }
        return text(key)
    }

    func bool(_ key: Key) -> Bool {
        guard case let .boolean(flag) = value(key) else { wrongAccessor(key) }
        return flag
    }

    func choice<Choice: SettingChoice>(_ key: Key, as type: Choice.Type = Choice.self) -> Choice {
        guard let choice = Choice(rawValue: text(key)) else { wrongAccessor(key) }
        return choice
    }

    func indexServers(_ key: Key) -> [IndexServerAddress]? {
        guard let setting = given(key) else { return nil }
        guard case let .indexServers(servers)? = key.spec.kind.interpret(setting.text) else { wrongAccessor(key) }
        return servers
    }

    func indexDatabase(_ key: Key) -> IndexDatabase? {
        guard let setting = given(key) else { return nil }
        guard case let .indexDatabase(database)? = key.spec.kind.interpret(setting.text) else { wrongAccessor(key) }
        return database
    }

    /// The given value or the default, already known to be valid.
    private func value(_ key: Key) -> SettingValue {
        let text: String
        if let setting = given(key) {
            text = setting.text
        } else if case let .value(defaultText) = key.spec.defaultValue {
            text = defaultText
        } else {
            preconditionFailure("'\(key.name)' has no default; the settings type must handle its absence")
        }
        guard let value = key.spec.kind.interpret(text) else {
            preconditionFailure("'\(key.name)': '\(text)' passed validation but does not interpret")
        }
        return value
    }

    private static func interpret(_ setting: RawSetting, for key: Key) throws(ConfigError) -> SettingValue {
        guard let value = key.spec.kind.interpret(setting.text) else {
            throw .invalidValue(setting.location, key: key.name, expected: key.spec.kind.expectation, value: setting.text)
        }
        return value
    }

    /// The schema and the settings type disagree about a key's kind: a bug in
    /// this module that the tests catch, never an operator mistake.
    private func wrongAccessor(_ key: Key) -> Never {
        preconditionFailure("'\(key.name)' read with an accessor that does not match its kind")
    }
}

extension SettingSpec {
    var hasDefaultValue: Bool {
        if case .value = defaultValue { true } else { false }
    }
}
