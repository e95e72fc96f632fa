import FlareTools

#if canImport(Glibc)
import Glibc
#endif

exit(ToolMain.run(FlareAdminCommand.self, programName: "flare-admin", arguments: Array(CommandLine.arguments.dropFirst())))
