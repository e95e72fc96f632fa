import ArgumentParser

/// Turns a daemon's arguments (without the program name) into settings or
/// into the early exit the operator asked for.
///
/// On a `ConfigError` the executable prints the error and the option list
/// (`nodeHelp` / `indexHelp`) on stdout and exits with `earlyExitStatus`, as
/// the original does (docs/original-behaviour.md, "Configuration keys").
public enum DaemonCommandLine {
    /// The original exits with 255 after an error, `-v` and `-h` alike.
    public static let earlyExitStatus: Int32 = 255

    /// Width of the help text: fixed rather than the terminal's, so the text
    /// is the same whether or not stdout is a terminal.
    static let helpColumns = 100

    /// flared's option list, as printed by `-h`.
    public static var nodeHelp: String { NodeOptions.helpMessage(columns: helpColumns) }

    /// flarei's option list, as printed by `-h`.
    public static var indexHelp: String { IndexOptions.helpMessage(columns: helpColumns) }

    public static func parseNode(arguments: [String]) throws(ConfigError) -> LaunchAction<NodeSettings> {
        guard let options = try parse(NodeOptions.self, arguments) else { return .printHelp(nodeHelp) }
        if options.flags.version { return .printVersion(FlareVersion.banner) }
        let launch = launchOptions(options.flags, options.keyValues)
        let file = try configFile(options.flags, keys: NodeKey.self)
        let resolver = try SettingsResolver(file: file, commandLine: launch.commandLineValues)
        return .run(try NodeSettings(resolving: resolver, launch: launch))
    }

    public static func parseIndex(arguments: [String]) throws(ConfigError) -> LaunchAction<IndexSettings> {
        guard let options = try parse(IndexOptions.self, arguments) else { return .printHelp(indexHelp) }
        if options.flags.version { return .printVersion(FlareVersion.banner) }
        let launch = launchOptions(options.flags, options.keyValues)
        let file = try configFile(options.flags, keys: IndexKey.self)
        let resolver = try SettingsResolver(file: file, commandLine: launch.commandLineValues)
        return .run(try IndexSettings(resolving: resolver, launch: launch))
    }

    /// The parsed options, or nil when help was requested.
    private static func parse<Options: ParsableCommand>(_ type: Options.Type, _ arguments: [String]) throws(ConfigError) -> Options? {
        do {
            return try Options.parse(arguments)
        } catch {
            // Help requests arrive as a "clean exit" error with status 0.
            if Options.exitCode(for: error) == .success { return nil }
            throw .invalidCommandLine(message: oneLine(Options.message(for: error)))
        }
    }

    private static func launchOptions<Key>(_ flags: DaemonFlags, _ values: [Key: String]) -> LaunchOptions<Key> {
        LaunchOptions(configPath: flags.config, pidPath: flags.pid, logToStderr: flags.stderr,
                      commandLineValues: RawSettings(commandLine: values))
    }

    private static func configFile<Key: SettingKey>(_ flags: DaemonFlags, keys: Key.Type) throws(ConfigError) -> RawSettings<Key> {
        guard let path = flags.config else { return RawSettings() }
        return try ConfigFileReader.read(path: path, keys: keys)
    }

    /// argument-parser sometimes adds a usage hint on further lines; the
    /// executable prints the full option list anyway.
    private static func oneLine(_ message: String) -> String {
        message.split(whereSeparator: \.isNewline)
            .map { $0.trimmingConfigWhitespace() }
            .filter { !$0.isEmpty }
            .joined(separator: " ")
    }
}
