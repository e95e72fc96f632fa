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
