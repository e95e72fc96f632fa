import ArgumentParser

/// The options both daemons take that are not configuration keys
/// (docs/original-behaviour.md, "Configuration keys"). `-h/--help` is argument-parser's own.
struct DaemonFlags: ParsableArguments {
    @Option(name: [.customShort("f"), .customLong("config")], help: ArgumentHelp("path to the config file", valueName: "path"))
    var config: String?

    @Option(name: [.customShort("p"), .customLong("pid")],
            help: ArgumentHelp("path to the pid file (default: <data-dir>/<daemon>.pid)", valueName: "path"))
    var pid: String?

    @Flag(name: [.customShort("s"), .customLong("stderr")], help: "log to stderr instead of syslog")
    var stderr = false

    @Flag(name: [.customShort("v"), .customLong("version")], help: "print the version and exit")
    var version = false
}

extension SettingKey {
    /// The `--help` entry of this key's option.
    var argumentHelp: ArgumentHelp {
        ArgumentHelp(spec.helpText, valueName: spec.valueName)
    }
}
