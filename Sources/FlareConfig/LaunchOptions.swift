/// The command-line-only options and the key values typed on the command
/// line, as settings types need them at start-up and on every reload.
struct LaunchOptions<Key: SettingKey>: Sendable {
    var configPath: String?
    var pidPath: String?
    var logToStderr: Bool
    var commandLineValues: RawSettings<Key>
}
