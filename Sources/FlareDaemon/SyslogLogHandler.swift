#if canImport(Glibc)
import Glibc
#endif
import Logging

/// Sends log records to syslog, used when a daemon runs detached (`-d`) and stderr goes nowhere.
public struct SyslogLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level

    /// Opens syslog once for the process with `ident` (flared / flarei) and the configured facility.
    public static func open(ident: String, facility: String) {
        let code: Int32 = switch facility {
        case "auth": LOG_AUTH
        case "daemon": LOG_DAEMON
        case "user": LOG_USER
        case "local0": LOG_LOCAL0
        case "local1": LOG_LOCAL1
        case "local2": LOG_LOCAL2
        case "local3": LOG_LOCAL3
        case "local4": LOG_LOCAL4
        case "local5": LOG_LOCAL5
        case "local6": LOG_LOCAL6
        case "local7": LOG_LOCAL7
        default: LOG_DAEMON
        }
        // openlog keeps the pointer: the ident must outlive the process's logging.
        let identCopy = strdup(ident)
        openlog(identCopy, LOG_PID, code)
    }

    public init(level: Logger.Level) { logLevel = level }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let priority: Int32 = switch event.level {
        case .trace, .debug: LOG_DEBUG
        case .info: LOG_INFO
        case .notice: LOG_NOTICE
        case .warning: LOG_WARNING
        case .error: LOG_ERR
        case .critical: LOG_CRIT
        }
        let text = "\(event.message)"
        text.withCString { cText in withVaList([cText]) { vsyslog(priority, "%s", $0) } }
    }
}
