/// What happens when a key is absent from both the file and the command line.
enum SettingDefault: Sendable {
    /// This text is used, checked like any other value.
    case value(String)
    /// Start-up fails with `ConfigError.missingRequired`.
    case required
    /// The settings type computes the value from something else (the host
    /// name, another key); the text only explains that in `--help`.
    case derived(String)
    /// The setting stays unset (`nil`).
    case none
}

/// The schema entry of one configuration key.
struct SettingSpec: Sendable {
    let kind: SettingKind
    let defaultValue: SettingDefault
    /// Re-read on SIGHUP; all other keys keep their start-up value until restart.
    let isDynamic: Bool
    /// One line for `--help`; the default and reloadability are appended.
    let summary: String
    /// Placeholder after the option in `--help` when the kind's generic one
    /// (`<value>`) says too little, e.g. `<path>`.
    let valueName: String

    init(_ kind: SettingKind, default defaultValue: SettingDefault, dynamic isDynamic: Bool = false,
         valueName: String? = nil, _ summary: String) {
        self.kind = kind
        self.defaultValue = defaultValue
        self.isDynamic = isDynamic
        self.valueName = valueName ?? kind.valueName
        self.summary = summary
    }

    /// The `--help` text: summary, default and whether SIGHUP reloads it.
    var helpText: String {
        var text = summary
        switch (defaultValue, kind) {
        case (.value, .toggle):
            break  // a switch is off unless given; "default: false" adds nothing
        case let (.value(value), _):
            text += " (default: \(value.isEmpty ? "empty" : value))"
        case (.required, _):
            text += " (required)"
        case let (.derived(explanation), _):
            text += " (default: \(explanation))"
        case (.none, _):
            break
        }
        if isDynamic { text += " [reloaded on SIGHUP]" }
        return text
    }
}

/// The keys of one daemon's configuration; the raw value is the long option
/// name used in files and on the command line.
protocol SettingKey: RawRepresentable, CaseIterable, Hashable, Sendable where RawValue == String {
    var spec: SettingSpec { get }
}

extension SettingKey {
    var name: String { rawValue }
}
