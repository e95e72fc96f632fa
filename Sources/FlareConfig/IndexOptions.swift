import ArgumentParser

/// flarei's command line: the daemon flags plus every configuration key as
/// a `--long-option` (docs/original-behaviour.md, "Configuration keys"). Values stay text here so that the file
/// and the command line go through the same checks and give the same messages.
struct IndexOptions: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flarei",
        abstract: "flare index server: keeps the node map, monitors nodes and handles fail-over."
    )

    @OptionGroup var flags: DaemonFlags

    @Flag(name: [.customShort("d"), .customLong("daemonize")], help: IndexKey.daemonize.argumentHelp)
    var daemonize = false

    @Option(name: .customLong("data-dir"), help: IndexKey.dataDir.argumentHelp)
    var dataDir: String?

    @Option(name: .customLong("index-db"), help: IndexKey.indexDB.argumentHelp)
    var indexDB: String?

    @Option(name: .customLong("log-facility"), help: IndexKey.logFacility.argumentHelp)
    var logFacility: String?

    @Option(name: .customLong("max-connection"), help: IndexKey.maxConnection.argumentHelp)
    var maxConnection: String?

    @Option(name: .customLong("monitor-threshold"), help: IndexKey.monitorThreshold.argumentHelp)
    var monitorThreshold: String?

    @Option(name: .customLong("monitor-interval"), help: IndexKey.monitorInterval.argumentHelp)
    var monitorInterval: String?

    @Option(name: .customLong("monitor-read-timeout"), help: IndexKey.monitorReadTimeout.argumentHelp)
    var monitorReadTimeout: String?

    @Option(name: .customLong("zookeeper-session-timeout"), help: IndexKey.zookeeperSessionTimeout.argumentHelp)
    var zookeeperSessionTimeout: String?

    @Option(name: .customLong("net-read-timeout"), help: IndexKey.netReadTimeout.argumentHelp)
    var netReadTimeout: String?

    @Option(name: .customLong("partition-size"), help: IndexKey.partitionSize.argumentHelp)
    var partitionSize: String?

    @Option(name: .customLong("partition-type"), help: IndexKey.partitionType.argumentHelp)
    var partitionType: String?

    @Option(name: .customLong("partition-modular-hint"), help: IndexKey.partitionModularHint.argumentHelp)
    var partitionModularHint: String?

    @Option(name: .customLong("partition-modular-virtual"), help: IndexKey.partitionModularVirtual.argumentHelp)
    var partitionModularVirtual: String?

    @Option(name: .customLong("key-hash-algorithm"), help: IndexKey.keyHashAlgorithm.argumentHelp)
    var keyHashAlgorithm: String?

    @Option(name: .customLong("server-name"), help: IndexKey.serverName.argumentHelp)
    var serverName: String?

    @Option(name: .customLong("server-port"), help: IndexKey.serverPort.argumentHelp)
    var serverPort: String?

    @Option(name: .customLong("server-socket"), help: IndexKey.serverSocket.argumentHelp)
    var serverSocket: String?

    @Option(name: .customLong("stack-size"), help: IndexKey.stackSize.argumentHelp)
    var stackSize: String?

    @Option(name: .customLong("thread-pool-size"), help: IndexKey.threadPoolSize.argumentHelp)
    var threadPoolSize: String?

    @Option(name: .customLong("server-address"), help: IndexKey.serverAddress.argumentHelp)
    var serverAddress: String?

    @Option(name: .customLong("log-level"), help: IndexKey.logLevel.argumentHelp)
    var logLevel: String?

    /// The keys given on the command line; a switch that was not given is
    /// absent rather than false, so it does not override the file.
    var keyValues: [IndexKey: String] {
        let values: [IndexKey: String?] = [
            .daemonize: daemonize ? "true" : nil,
            .dataDir: dataDir,
            .indexDB: indexDB,
            .logFacility: logFacility,
            .maxConnection: maxConnection,
            .monitorThreshold: monitorThreshold,
            .monitorInterval: monitorInterval,
            .monitorReadTimeout: monitorReadTimeout,
            .netReadTimeout: netReadTimeout,
            .partitionSize: partitionSize,
            .partitionType: partitionType,
            .partitionModularHint: partitionModularHint,
            .partitionModularVirtual: partitionModularVirtual,
            .keyHashAlgorithm: keyHashAlgorithm,
            .serverName: serverName,
            .serverPort: serverPort,
            .serverSocket: serverSocket,
            .stackSize: stackSize,
            .threadPoolSize: threadPoolSize,
            .serverAddress: serverAddress,
            .zookeeperSessionTimeout: zookeeperSessionTimeout,
            .logLevel: logLevel,
        ]
        return values.compactMapValues { $0 }
    }
}
