/// A dynamic key and the settings property it feeds: how to show its value in
/// a change log line and how to take it over from freshly read settings.
struct ReloadableSetting<Settings> {
    let key: String
    let render: (Settings) -> String
    let adopt: (inout Settings, Settings) -> Void

    init<Key: SettingKey, Value>(_ key: Key, _ property: WritableKeyPath<Settings, Value>,
                                 render: @escaping (Value) -> String = { String(describing: $0) }) {
        self.key = key.name
        self.render = { render($0[keyPath: property]) }
        self.adopt = { $0[keyPath: property] = $1[keyPath: property] }
    }
}

extension Array {
    /// Takes the reloadable values over from `fresh` into `current`, leaving
    /// every other setting as it was at start-up, and lists what changed.
    func reload<Settings>(_ current: Settings, from fresh: Settings) -> (Settings, [SettingChange])
    where Element == ReloadableSetting<Settings> {
        var next = current
        var changes: [SettingChange] = []
        for setting in self {
            let oldValue = setting.render(current)
            let newValue = setting.render(fresh)
            guard oldValue != newValue else { continue }
            setting.adopt(&next, fresh)
            changes.append(SettingChange(key: setting.key, oldValue: oldValue, newValue: newValue))
        }
        return (next, changes)
    }
}
