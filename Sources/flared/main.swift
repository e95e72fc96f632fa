#if canImport(Glibc)
import Glibc
#endif
import FlareDaemon
import FlareConfig
import FlareNode
import Logging

// flared: the flare node daemon. Reads flared.conf (-f) and the command line, then serves.
let action: LaunchAction<NodeSettings>
do {
    action = try DaemonCommandLine.parseNode(arguments: Array(CommandLine.arguments.dropFirst()))
} catch {
    print("flared: \(error)")
    print(DaemonCommandLine.nodeHelp)
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
        let logger = DaemonLogging.bootstrap(ident: "flared", level: settings.logLevel.rawValue,
                                             toSyslog: settings.daemonize && !settings.logToStderr,
                                             facility: settings.logFacility)
        do {
            try NodeDaemon(settings: settings, logger: logger).run()
        } catch {
            logger.critical("flared cannot start: \(error)")
            if !settings.daemonize { ProcessControl.printError("flared: \(error)") }
            exit(1)
        }
    } catch {
        ProcessControl.printError("flared: \(error)")
        exit(1)
    }
}

