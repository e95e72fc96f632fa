/// What a daemon should do after reading its command line.
public enum LaunchAction<Settings: Sendable>: Sendable {
    /// Start with these settings.
    case run(Settings)
    /// `-v`: print this line (`flare 1.3.4`) and exit with
    /// `DaemonCommandLine.earlyExitStatus`.
    case printVersion(String)
    /// `-h`: print this option list and exit with
    /// `DaemonCommandLine.earlyExitStatus`.
    case printHelp(String)
}

extension LaunchAction: Equatable where Settings: Equatable {}

extension LaunchAction {
    /// The settings of `.run`; nil for `-v` and `-h`.
    public var settings: Settings? {
        guard case .run(let settings) = self else { return nil }
        return settings
    }

    /// The text `-v` and `-h` print before exiting with `DaemonCommandLine.earlyExitStatus`;
    /// nil for `.run`.
    public var earlyExitText: String? {
        switch self {
        case .run: return nil
        case .printVersion(let text), .printHelp(let text): return text
        }
    }
}
