#if canImport(Glibc)
import Glibc
#endif
import Logging

/// What the launcher reads from a daemon's settings: whether to detach and how to log.
/// flared's `NodeSettings` and flarei's `IndexSettings` have exactly these members.
public protocol DaemonLaunchSettings {
    associatedtype LogLevel: RawRepresentable where LogLevel.RawValue == String
    var daemonize: Bool { get }
    var logToStderr: Bool { get }
    var logFacility: String { get }
    /// Its raw value is a swift-log level name.
    var logLevel: LogLevel { get }
}

/// A daemon's parsed command line: the settings to start with, or (`-v`, `-h`) only a text to
/// print. FlareConfig's `LaunchAction` has exactly these members.
public protocol DaemonLaunchRequest {
    associatedtype Settings: DaemonLaunchSettings
    var settings: Settings? { get }
    var earlyExitText: String? { get }
}

/// The start-up flared and flarei share, from the command line to the running daemon.
public enum DaemonLauncher {
    /// Parses the process's arguments (without the program name) with `parse` and acts on them:
    /// - `-v` / `-h`: prints the text on stdout and exits with `earlyExitStatus`;
    /// - a command-line or configuration error: prints `<ident>: <error>` and `help` on stdout
    ///   and exits with `earlyExitStatus`;
    /// - settings: detaches if they say so, sets up logging (syslog when detached, unless told
    ///   to log to stderr) and calls `start`, returning when it does. A failure before `start`
    ///   is printed on stderr, one from `start` is logged as critical (and printed on stderr
    ///   in the foreground); both exit with status 1.
    public static func run<Request: DaemonLaunchRequest>(
        ident: String,
        parse: ([String]) throws -> Request,
        help: String,
        earlyExitStatus: Int32,
        start: (Request.Settings, Logger) throws -> Void
    ) {
        let request: Request
        do {
            request = try parse(Array(CommandLine.arguments.dropFirst()))
        } catch {
            print("\(ident): \(error)")
            print(help)
            exit(earlyExitStatus)
        }
        guard let settings = request.settings else {
            print(request.earlyExitText ?? "")
            exit(earlyExitStatus)
        }
        do {
            if settings.daemonize { try ProcessControl.daemonize() }
            let logger = DaemonLogging.bootstrap(ident: ident, level: settings.logLevel.rawValue,
                                                 toSyslog: settings.daemonize && !settings.logToStderr,
                                                 facility: settings.logFacility)
            do {
                try start(settings, logger)
            } catch {
                // Logged from the executable's module (`flared`, `flarei`), named like the daemon.
                logger.critical("\(ident) cannot start: \(error)", source: ident)
                if !settings.daemonize { ProcessControl.printError("\(ident): \(error)") }
                exit(1)
            }
        } catch {
            ProcessControl.printError("\(ident): \(error)")
            exit(1)
        }
    }
}
