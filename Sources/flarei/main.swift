#if canImport(Glibc)
import Glibc
#endif
import FlareConfig
import FlareDaemon
import FlareIndex

// flarei: the flare index server. Reads flarei.conf (-f) and the command line, then serves.
let action: LaunchAction<IndexSettings>
do {
    action = try DaemonCommandLine.parseIndex(arguments: Array(CommandLine.arguments.dropFirst()))
} catch {
    print("flarei: \(error)")
    print(DaemonCommandLine.indexHelp)
    exit(DaemonCommandLine.earlyExitStatus)
}

switch action {
case .printVersion(let line):
    print(line)
    exit(DaemonCommandLine.earlyExitStatus)
case .printHelp(let text):
    print(text)
    exit(DaemonCommandLine.earlyExitStatus)
case .run(let settings):
    do {
        if settings.daemonize { try ProcessControl.daemonize() }
        let logger = DaemonLogging.bootstrap(ident: "flarei", level: settings.logLevel.rawValue,
                                             toSyslog: settings.daemonize && !settings.logToStderr,
                                             facility: settings.logFacility)
        do {
            try IndexDaemon(settings: settings, logger: logger).run()
        } catch {
            logger.critical("flarei cannot start: \(error)")
            if !settings.daemonize { ProcessControl.printError("flarei: \(error)") }
            exit(1)
        }
    } catch {
        ProcessControl.printError("flarei: \(error)")
        exit(1)
    }
}
