/// One setting a SIGHUP reload changed, for the log.
public struct SettingChange: Equatable, Sendable, CustomStringConvertible {
    /// The config key, e.g. `max-connection`.
    public let key: String
    public let oldValue: String
    public let newValue: String

    public init(key: String, oldValue: String, newValue: String) {
        self.key = key
        self.oldValue = oldValue
        self.newValue = newValue
    }

    /// `key: old -> new`.
    public var description: String { "\(key): \(oldValue) -> \(newValue)" }
}
