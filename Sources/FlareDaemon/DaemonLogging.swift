import Logging

/// Sets up swift-log for a daemon: stderr in the foreground, syslog when detached.
public enum DaemonLogging {
    public static func bootstrap(ident: String, level: String, toSyslog: Bool, facility: String) -> Logger {
        let logLevel = Logger.Level(rawValue: level) ?? .info
        if toSyslog {
            SyslogLogHandler.open(ident: ident, facility: facility)
            LoggingSystem.bootstrap { _ in SyslogLogHandler(level: logLevel) }
        } else {
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = logLevel
                return handler
            }
        }
        var logger = Logger(label: ident)
        logger.logLevel = logLevel
        return logger
    }
}
