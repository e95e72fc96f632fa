import ArgumentParser

/// The executables' entry point: parses, runs, and reports every failure as one line on stderr
/// with a non-zero status (the original printed usage and exited 1 on bad options).
public enum ToolMain {
    public static func run(_ root: ParsableCommand.Type, programName: String, arguments: [String],
                           out: TextSink = DescriptorSink.standardOutput(),
                           err: TextSink = DescriptorSink.standardError()) -> Int32 {
        do {
            var command = try root.parseAsRoot(subcommandFirst(arguments, of: root))
            try command.run()
            return 0
        } catch let error as ToolError {
            err.write("\(error)\n")
            return ToolStatus.failure.rawValue
        } catch let exit as ExitCode {
            return exit.rawValue
        } catch {
            if root.exitCode(for: error) == .success {
                out.write(root.fullMessage(for: error) + "\n")
                return 0
            }
            let message = root.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            err.write("\(programName): \(message) (see '\(programName) --help')\n")
            return ToolStatus.failure.rawValue
        }
    }

    /// Operators write the global options before the sub-command too (`flare-admin -i host:port list`);
    /// the parser wants the sub-command first, so it is moved there.
    static func subcommandFirst(_ arguments: [String], of root: ParsableCommand.Type) -> [String] {
        let names = Set(root.configuration.subcommands.map { $0._commandName })
        guard !names.isEmpty, let first = arguments.first, first.hasPrefix("-"),
              let index = arguments.firstIndex(where: { names.contains($0) }) else { return arguments }
        // Only when everything before it is an option or an option's value, not a positional argument.
        var rest = arguments
        let name = rest.remove(at: index)
        return [name] + rest
    }
}
