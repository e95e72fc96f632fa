import ArgumentParser
import FlareCluster

/// `flare-admin <subcommand> [options] [arguments]`.
public struct FlareAdminCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "flare-admin",
        abstract: "Administer a flare cluster through its index server.",
        subcommands: [ListCommand.self, StatsCommand.self, SummaryCommand.self, ThreadsCommand.self, PingCommand.self,
                      MasterCommand.self, SlaveCommand.self, ReconstructCommand.self, DownCommand.self,
                      ActivateCommand.self, BalanceCommand.self, RemoveCommand.self, ReclaimCommand.self, DumpCommand.self,
                      DumpkeyCommand.self, IndexCommand.self, VerifyCommand.self])

    public init() {}

    /// Without a sub-command the original prints its help and exits 1.
    public func run() throws {
        DescriptorSink.standardError().write(Self.helpMessage() + "\n")
        throw ExitCode(ToolStatus.failure.rawValue)
    }
}

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "show the list of nodes in a flare cluster.")

    @OptionGroup var index: IndexServerOptions
    @Flag(name: .customLong("numeric-hosts"), help: "show numerical host addresses")
    var numericHosts = false

    func run() throws {
        try CommandRunner.run(index) { try ListOperation(numericHosts: numericHosts).run($0) }
    }
}

struct SummaryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "summary", abstract: "show the summary of a flare cluster.")

    @OptionGroup var index: IndexServerOptions

    func run() throws {
        try CommandRunner.run(index) { try SummaryOperation(clusterName: index.cluster).run($0) }
    }
}

struct ThreadsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "threads",
                                                    abstract: "show the list of threads of the index server or of a node.")

    @OptionGroup var index: IndexServerOptions
    @Argument(help: ArgumentHelp("a node instead of the index server", valueName: "hostname:port"))
    var node: String?

    func run() throws {
        let address = try node.map(NodeAddress.parse)
        try CommandRunner.run(index, nodeArguments: node.map { [$0] } ?? []) { try ThreadsOperation(node: address).run($0) }
    }
}

struct PingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ping", abstract: "check that nodes answer ping.")

    @OptionGroup var index: IndexServerOptions
    @Flag(name: .customLong("wait"), help: "wait until every node is alive")
    var wait = false
    @Argument(help: ArgumentHelp("nodes to ping", valueName: "hostname:port"))
    var nodes: [String] = []

    func run() throws {
        try nodes.requireNodes("ping [hostname:port] ...")
        let addresses = try nodes.map(NodeAddress.parse)
        try CommandRunner.run(index) { try PingOperation(nodes: addresses, waitUntilAlive: wait).run($0) }
    }
}

struct MasterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "master",
                                                    abstract: "construct a partition with a proxy node for master role.")

    @OptionGroup var index: IndexServerOptions
    @OptionGroup var change: ChangeOptions
    @Option(name: .customLong("retry"), help: ArgumentHelp("retry count of node role", valueName: "count"))
    var retry = 10
    @Flag(name: .customLong("activate"), help: "change node's state from ready to active")
    var activate = false
    @Flag(name: .customLong("without-clean"), help: "don't clear datastore before construction")
    var withoutClean = false
    @Argument(help: ArgumentHelp("nodes and their new partitions", valueName: "hostname:port:balance:partition"))
    var nodes: [String] = []

    func run() throws {
        try nodes.requireNodes("master [hostname:port:balance:partition] ...")
        let assignments = try nodes.map(NodeAssignment.parse)
        try CommandRunner.run(index, nodeArguments: nodes, dryRun: change.dryRun) {
            try MasterOperation(assignments: assignments, force: change.force, activate: activate,
                                withoutClean: withoutClean, retry: retry).run($0)
        }
    }
}

struct SlaveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "slave", abstract: "construct slaves from proxy nodes.")

    @OptionGroup var index: IndexServerOptions
    @OptionGroup var change: ChangeOptions
    @Option(name: .customLong("retry"), help: ArgumentHelp("retry count of node role", valueName: "count"))
    var retry = 10
    @Flag(name: .customLong("without-clean"), help: "don't clear datastore before construction")
    var withoutClean = false
    /// Accepted for old scripts: cleaning became the default (the original marks it obsolete).
    @Flag(name: .customLong("clean"), help: "[obsolete] the datastore is now cleared by default")
    var clean = false
    @Argument(help: ArgumentHelp("nodes and their partitions", valueName: "hostname:port:balance:partition"))
    var nodes: [String] = []

    func run() throws {
        try nodes.requireNodes("slave [hostname:port:balance:partition] ...")
        let assignments = try nodes.map(NodeAssignment.parse)
        try CommandRunner.run(index, nodeArguments: nodes, dryRun: change.dryRun) {
            try SlaveOperation(assignments: assignments, force: change.force, withoutClean: withoutClean, retry: retry).run($0)
        }
    }
}

struct ReconstructCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reconstruct",
                                                    abstract: "reconstruct the database of nodes by copying.")

    @OptionGroup var index: IndexServerOptions
    @OptionGroup var change: ChangeOptions
    @Flag(name: .customLong("unsafe"), help: "reconstruct a node even when its partition loses redundancy")
    var unsafe = false
    @Option(name: .customLong("retry"), help: ArgumentHelp("retry count of node role", valueName: "count"))
    var retry = 5
    @Flag(name: .customLong("all"), help: "reconstruct all masters and slaves")
    var all = false
    @Argument(help: ArgumentHelp("nodes to reconstruct", valueName: "hostname:port"))
    var nodes: [String] = []

    func run() throws {
        let addresses = try nodes.map(NodeAddress.parse)
        try CommandRunner.run(index, nodeArguments: nodes, dryRun: change.dryRun) {
            try ReconstructOperation(nodes: addresses, all: all, force: change.force, unsafe: unsafe, retry: retry).run($0)
        }
    }
}

struct DownCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "down", abstract: "turn down nodes.")

    @OptionGroup var index: IndexServerOptions
    @OptionGroup var change: ChangeOptions
    @Argument(help: ArgumentHelp("nodes to turn down", valueName: "hostname:port"))
    var nodes: [String] = []

    func run() throws {
        try nodes.requireNodes("down [hostname:port] ...")
        let addresses = try nodes.map(NodeAddress.parse)
        try CommandRunner.run(index, nodeArguments: nodes, dryRun: change.dryRun) {
            try DownOperation(nodes: addresses, force: change.force).run($0)
        }
    }
}

struct ReclaimCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reclaim",
        abstract: "drop the keys that moved to a newer partition from masters and their slaves (not in the original).")

    @OptionGroup var index: IndexServerOptions
    @OptionGroup var change: ChangeOptions
    @Flag(name: .customLong("all"), help: "reclaim on every active master")
    var all = false
    @Argument(help: ArgumentHelp("masters whose partitions to clean", valueName: "hostname:port"))
    var nodes: [String] = []

    func run() throws {
        let addresses = try nodes.map(NodeAddress.parse)
        try CommandRunner.run(index, nodeArguments: nodes, dryRun: change.dryRun) {
            try ReclaimOperation(nodes: addresses, all: all, force: change.force).run($0)
        }
    }
}

struct ActivateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "activate", abstract: "activate nodes.")

    @OptionGroup var index: IndexServerOptions
    @OptionGroup var change: ChangeOptions
    @Argument(help: ArgumentHelp("nodes to activate", valueName: "hostname:port"))
    var nodes: [String] = []

    func run() throws {
        try nodes.requireNodes("activate [hostname:port] ...")
        let addresses = try nodes.map(NodeAddress.parse)
        try CommandRunner.run(index, nodeArguments: nodes, dryRun: change.dryRun) {
            try ActivateOperation(nodes: addresses, force: change.force).run($0)
        }
    }
}

struct BalanceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "balance", abstract: "set the balance values of nodes.")

    @OptionGroup var index: IndexServerOptions
    @OptionGroup var change: ChangeOptions
    @Argument(help: ArgumentHelp("nodes and their new balance", valueName: "hostname:port:balance"))
    var nodes: [String] = []

    func run() throws {
        try nodes.requireNodes("balance [hostname:port:balance] ...")
        let assignments = try nodes.map(BalanceAssignment.parse)
        try CommandRunner.run(index, nodeArguments: nodes, dryRun: change.dryRun) {
            try BalanceOperation(assignments: assignments, force: change.force).run($0)
        }
    }
}

struct RemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "remove a downed node.")

    @OptionGroup var index: IndexServerOptions
    @OptionGroup var change: ChangeOptions
    @Option(name: .customLong("retry"), help: ArgumentHelp("retry count of node remove", valueName: "count"))
    var retry = 0
    @Argument(help: ArgumentHelp("nodes to remove", valueName: "hostname:port"))
    var nodes: [String] = []

    func run() throws {
        try nodes.requireNodes("remove [hostname:port] ...")
        let addresses = try nodes.map(NodeAddress.parse)
        try CommandRunner.run(index, nodeArguments: nodes, dryRun: change.dryRun) {
            try RemoveOperation(nodes: addresses, force: change.force, retry: retry).run($0)
        }
    }
}

struct DumpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dump", abstract: "dump data from nodes.")

    @OptionGroup var index: IndexServerOptions
    @Option(name: [.customShort("o"), .customLong("output")], help: ArgumentHelp("output to a file", valueName: "file"))
    var output: String?
    @Option(name: [.customShort("f"), .customLong("format")], help: ArgumentHelp("output format [default,csv]", valueName: "format"))
    var format: String?
    @Option(name: .customLong("bwlimit"), help: ArgumentHelp("bandwidth limit in bps (k, M, G, kB, MB, GB suffixes)", valueName: "bandwidth"))
    var bwlimit: String?
    @Flag(name: .customLong("all"), help: "dump from all master nodes")
    var all = false
    @Flag(name: .customLong("raw"), help: "raw dump mode: everything the node stores")
    var raw = false
    @Argument(help: ArgumentHelp("nodes to dump", valueName: "hostname:port[:balance:partition]"))
    var nodes: [String] = []

    func run() throws {
        let sources = try nodes.map(DumpSource.parse)
        let dumpFormat = try DumpFormat.parse(format)
        let bits = try bwlimit.map(BandwidthLimit.bitsPerSecond) ?? 0
        try CommandRunner.run(index, nodeArguments: nodes) {
            try DumpOperation(sources: sources, all: all, format: dumpFormat, outputPath: output, bitsPerSecond: bits,
                              raw: raw).run($0)
        }
    }
}

struct DumpkeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dumpkey", abstract: "dump keys from nodes.")

    @OptionGroup var index: IndexServerLongOptions
    @Option(name: [.customShort("o"), .customLong("output")], help: ArgumentHelp("output to a file", valueName: "file"))
    var output: String?
    @Option(name: [.customShort("f"), .customLong("format")], help: ArgumentHelp("output format [default,csv]", valueName: "format"))
    var format: String?
    @Option(name: [.customShort("p"), .customLong("partition")], help: ArgumentHelp("partition number", valueName: "number"))
    var partition: Int?
    @Option(name: [.customShort("s"), .customLong("partition-size")], help: ArgumentHelp("partition count", valueName: "size"))
    var partitionSize: Int?
    @Flag(name: .customLong("all"), help: "dump keys from all master nodes")
    var all = false
    @Argument(help: ArgumentHelp("nodes to dump", valueName: "hostname:port"))
    var nodes: [String] = []

    func run() throws {
        let addresses = try nodes.map(NodeAddress.parse)
        let keyFormat = try DumpFormat.parse(format)
        // As in the original, a negative partition or a non-positive size is ignored.
        let chosenPartition = partition.flatMap { $0 >= 0 ? $0 : nil }
        let chosenSize = partitionSize.flatMap { $0 > 0 ? $0 : nil }
        try CommandRunner.run(index, nodeArguments: nodes) {
            try DumpKeyOperation(nodes: addresses, all: all, format: keyFormat, outputPath: output,
                                 partition: chosenPartition, partitionCount: chosenSize).run($0)
        }
    }
}

struct IndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "index",
                                                    abstract: "print the index XML document from a cluster information.")

    @OptionGroup var index: IndexServerOptions
    @Option(name: .customLong("output"), help: ArgumentHelp("output index to a file", valueName: "file"))
    var output: String?
    @Option(name: .customLong("increment"), help: ArgumentHelp("add to the node map version", valueName: "count"))
    var increment: UInt64 = 0

    func run() throws {
        try CommandRunner.run(index) { try IndexOperation(outputPath: output, increment: increment).run($0) }
    }
}

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "verify", abstract: "verify the cluster.")

    @OptionGroup var index: IndexServerOptions
    @Option(name: .customLong("key-hash-algorithm"), help: ArgumentHelp("key hash algorithm [simple,crc32,jenkins]", valueName: "type"))
    var keyHashAlgorithm: String = "simple"
    @Flag(name: .customLong("use-test-data"), help: "store test data")
    var useTestData = false
    @Flag(name: .customLong("debug"), help: "show every misplaced key")
    var debug = false
    @Flag(name: .customLong("verbose"), help: "show every missing test key")
    var verbose = false
    @Flag(name: .customLong("meta"), help: "use the meta command")
    var meta = false

    func run() throws {
        guard let algorithm = KeyHashAlgorithm(partitioningName: keyHashAlgorithm) else {
            throw ToolError.invalidArgument("unknown type: \(keyHashAlgorithm)")
        }
        try CommandRunner.run(index) {
            try VerifyOperation(keyHashAlgorithm: algorithm, useMeta: meta, useTestData: useTestData, debug: debug,
                                verbose: verbose).run($0)
        }
    }
}
