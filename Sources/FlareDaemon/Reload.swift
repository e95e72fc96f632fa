import Logging

/// SIGHUP for both daemons: re-read the config file, apply what may change at run time, and log
/// each change as `key: old -> new`. A file with an error aborts the reload; the old settings stay.
public enum Reload {
    /// `apply` re-reads `path`, applies the result and returns the changes (in the log's words).
    public static func run(configPath: String?, daemon: String, logger: Logger,
                           _ apply: (_ path: String) throws -> [CustomStringConvertible]) {
        guard let path = configPath else {
            logger.notice("SIGHUP received but \(daemon) was started without -f: nothing to reload")
            return
        }
        do {
            let changes = try apply(path)
            if changes.isEmpty { logger.notice("reloaded \(path): no dynamic setting changed") }
            for change in changes { logger.notice("reloaded \(change)") }
        } catch {
            logger.error("reload of \(path) failed, keeping the current settings: \(error)")
        }
    }
}
