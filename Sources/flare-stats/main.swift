import FlareTools

#if canImport(Glibc)
import Glibc
#endif

exit(ToolMain.run(FlareStatsCommand.self, programName: "flare-stats", arguments: Array(CommandLine.arguments.dropFirst())))
