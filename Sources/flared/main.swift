import FlareConfig
import FlareDaemon
import FlareNode

// flared: the flare node daemon. Reads flared.conf (-f) and the command line, then serves.
extension NodeSettings: DaemonLaunchSettings {}
extension LaunchAction: DaemonLaunchRequest where Settings: DaemonLaunchSettings {}

DaemonLauncher.run(ident: "flared", parse: DaemonCommandLine.parseNode(arguments:), help: DaemonCommandLine.nodeHelp,
                   earlyExitStatus: DaemonCommandLine.earlyExitStatus) { settings, logger in
    try NodeDaemon(settings: settings, logger: logger).run()
}
