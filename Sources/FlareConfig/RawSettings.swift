/// A value as written by the operator, before it is checked against its key.
struct RawSetting: Equatable, Sendable {
    let text: String
    let location: ConfigLocation
}

/// The values one source (a config file or the command line) gives, by key.
struct RawSettings<Key: SettingKey>: Equatable, Sendable {
    private(set) var values: [Key: RawSetting] = [:]

    init() {}

    /// Values typed on the command line; all share its location.
    init(commandLine texts: [Key: String]) {
        values = texts.mapValues { RawSetting(text: $0, location: .commandLine) }
    }

    subscript(key: Key) -> RawSetting? { values[key] }

    /// Records `setting`, refusing a second value for the same key.
    mutating func add(_ key: Key, _ setting: RawSetting) throws(ConfigError) {
        if let earlier = values[key] {
            throw .duplicateKey(key: key.name, first: earlier.location, second: setting.location)
        }
        values[key] = setting
    }
}
