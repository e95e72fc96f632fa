import ArgumentParser

/// The executables' entry point: parses, runs, and reports every failure as one line on stderr
/// with a non-zero status (the original printed usage and exited 1 on bad options).
public enum ToolMain {
    public static func run(_ root: ParsableCommand.Type, programName: String, arguments: [String],
                           out: TextSink = DescriptorSink.standardOutput(),
                           err: TextSink = DescriptorSink.standardError()) -> Int32 {
        do {
            var command = try root.parseAsRoot(arguments)
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
}
