import ArgumentParser

/// The options of `flare-admin stats` and `flare-stats`.
struct StatsOptions: ParsableArguments {
    @Flag(name: [.customShort("q"), .customLong("qps")], help: "show qps")
    var qps = false
    @Option(name: [.customShort("w"), .customLong("wait")], help: ArgumentHelp("wait time between repeats", valueName: "seconds"))
    var wait = 1
    @Option(name: [.customShort("c"), .customLong("count")], help: ArgumentHelp("repeat count", valueName: "count"))
    var count = 1
    @Option(name: [.customShort("d"), .customLong("delimiter")], help: ArgumentHelp("column delimiter", valueName: "char"))
    var delimiter = " "
    @Argument(help: ArgumentHelp("only show these nodes", valueName: "hostname:port"))
    var nodes: [String] = []

    func validate() throws {
        guard wait >= 0 else { throw ValidationError("--wait must not be negative") }
        guard count >= 0 else { throw ValidationError("--count must not be negative") }
    }

    func run(_ index: IndexServerSelection) throws {
        try CommandRunner.run(index, nodeArguments: nodes) {
            try StatsOperation(showQps: qps, wait: wait, count: count, delimiter: delimiter, nodeFilter: nodes).run($0)
        }
    }
}

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "show the statistics of a flare cluster.")

    @OptionGroup var index: IndexServerOptions
    @OptionGroup var options: StatsOptions

    func run() throws { try options.run(index) }
}

/// `flare-stats [options] [hostname:port …]`: the `stats` sub-command as its own program.
public struct FlareStatsCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "flare-stats",
                                                           abstract: "show the statistics of a flare cluster.")

    @OptionGroup var index: IndexServerOptions
    @OptionGroup var options: StatsOptions

    public init() {}

    public func run() throws { try options.run(index) }
}
