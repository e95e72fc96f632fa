import FlareConfig
import FlareDaemon
import FlareIndex

// flarei: the flare index server. Reads flarei.conf (-f) and the command line, then serves.
extension IndexSettings: DaemonLaunchSettings {}
extension LaunchAction: DaemonLaunchRequest where Settings: DaemonLaunchSettings {}

DaemonLauncher.run(ident: "flarei", parse: DaemonCommandLine.parseIndex(arguments:), help: DaemonCommandLine.indexHelp,
                   earlyExitStatus: DaemonCommandLine.earlyExitStatus) { settings, logger in
    try IndexDaemon(settings: settings, logger: logger).run()
}
