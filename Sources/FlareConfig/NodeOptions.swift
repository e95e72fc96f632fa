import ArgumentParser

/// flared's command line: the daemon flags plus every configuration key as
/// a `--long-option` (docs/original-behaviour.md, "Configuration keys"). Values stay text here so that the file
/// and the command line go through the same checks and give the same messages.
struct NodeOptions: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flared",
        abstract: "flare node server: stores key/value data and speaks the memcached text protocol."
    )

    @OptionGroup var flags: DaemonFlags

    @Option(name: .customLong("back-log"), help: NodeKey.backLog.argumentHelp)
    var backLog: String?

    @Flag(name: [.customShort("d"), .customLong("daemonize")], help: NodeKey.daemonize.argumentHelp)
    var daemonize = false

    @Option(name: .customLong("data-dir"), help: NodeKey.dataDir.argumentHelp)
    var dataDir: String?

    @Option(name: .customLong("index-servers"), help: NodeKey.indexServers.argumentHelp)
    var indexServers: String?

    @Option(name: .customLong("index-server-name"), help: NodeKey.indexServerName.argumentHelp)
    var indexServerName: String?

    @Option(name: .customLong("index-server-port"), help: NodeKey.indexServerPort.argumentHelp)
    var indexServerPort: String?

    @Option(name: .customLong("log-facility"), help: NodeKey.logFacility.argumentHelp)
    var logFacility: String?

    @Option(name: .customLong("max-connection"), help: NodeKey.maxConnection.argumentHelp)
    var maxConnection: String?

    @Option(name: .customLong("mutex-slot"), help: NodeKey.mutexSlot.argumentHelp)
    var mutexSlot: String?

    @Option(name: .customLong("noreply-window-limit"), help: NodeKey.noreplyWindowLimit.argumentHelp)
    var noreplyWindowLimit: String?

    @Option(name: .customLong("net-read-timeout"), help: NodeKey.netReadTimeout.argumentHelp)
    var netReadTimeout: String?

    @Option(name: .customLong("proxy-concurrency"), help: NodeKey.proxyConcurrency.argumentHelp)
    var proxyConcurrency: String?

    @Option(name: .customLong("reconstruction-interval"), help: NodeKey.reconstructionInterval.argumentHelp)
    var reconstructionInterval: String?

    @Option(name: .customLong("reconstruction-bwlimit"), help: NodeKey.reconstructionBwlimit.argumentHelp)
    var reconstructionBwlimit: String?

    @Option(name: .customLong("replication-type"), help: NodeKey.replicationType.argumentHelp)
    var replicationType: String?

    @Option(name: .customLong("server-name"), help: NodeKey.serverName.argumentHelp)
    var serverName: String?

    @Option(name: .customLong("server-port"), help: NodeKey.serverPort.argumentHelp)
    var serverPort: String?

    @Option(name: .customLong("server-socket"), help: NodeKey.serverSocket.argumentHelp)
    var serverSocket: String?

    @Option(name: .customLong("stack-size"), help: NodeKey.stackSize.argumentHelp)
    var stackSize: String?

    @Option(name: .customLong("storage-type"), help: NodeKey.storageType.argumentHelp)
    var storageType: String?

    @Option(name: .customLong("storage-ap"), help: NodeKey.storageAp.argumentHelp)
    var storageAp: String?

    @Option(name: .customLong("storage-fp"), help: NodeKey.storageFp.argumentHelp)
    var storageFp: String?

    @Option(name: .customLong("storage-bucket-size"), help: NodeKey.storageBucketSize.argumentHelp)
    var storageBucketSize: String?

    @Option(name: .customLong("storage-cache-size"), help: NodeKey.storageCacheSize.argumentHelp)
    var storageCacheSize: String?

    @Option(name: .customLong("storage-compress"), help: NodeKey.storageCompress.argumentHelp)
    var storageCompress: String?

    @Flag(name: [.customLong("storage-large")], help: NodeKey.storageLarge.argumentHelp)
    var storageLarge = false

    @Option(name: .customLong("storage-lmemb"), help: NodeKey.storageLmemb.argumentHelp)
    var storageLmemb: String?

    @Option(name: .customLong("storage-nmemb"), help: NodeKey.storageNmemb.argumentHelp)
    var storageNmemb: String?

    @Option(name: .customLong("storage-dfunit"), help: NodeKey.storageDfunit.argumentHelp)
    var storageDfunit: String?

    @Option(name: .customLong("thread-pool-size"), help: NodeKey.threadPoolSize.argumentHelp)
    var threadPoolSize: String?

    @Option(name: .customLong("proxy-prior-netmask"), help: NodeKey.proxyPriorNetmask.argumentHelp)
    var proxyPriorNetmask: String?

    @Option(name: .customLong("max-total-thread-queue"), help: NodeKey.maxTotalThreadQueue.argumentHelp)
    var maxTotalThreadQueue: String?

    @Option(name: .customLong("time-watcher-enabled"), help: NodeKey.timeWatcherEnabled.argumentHelp)
    var timeWatcherEnabled: String?

    @Option(name: .customLong("time-watcher-polling-interval-msec"), help: NodeKey.timeWatcherPollingIntervalMsec.argumentHelp)
    var timeWatcherPollingIntervalMsec: String?

    @Option(name: .customLong("storage-access-watch-threshold-warn-msec"), help: NodeKey.storageAccessWatchThresholdWarnMsec.argumentHelp)
    var storageAccessWatchThresholdWarnMsec: String?

    @Option(name: .customLong("storage-access-watch-threshold-ping-ng-msec"), help: NodeKey.storageAccessWatchThresholdPingNgMsec.argumentHelp)
    var storageAccessWatchThresholdPingNgMsec: String?

    @Option(name: .customLong("cluster-replication"), help: NodeKey.clusterReplication.argumentHelp)
    var clusterReplication: String?

    @Option(name: .customLong("cluster-replication-server-name"), help: NodeKey.clusterReplicationServerName.argumentHelp)
    var clusterReplicationServerName: String?

    @Option(name: .customLong("cluster-replication-server-port"), help: NodeKey.clusterReplicationServerPort.argumentHelp)
    var clusterReplicationServerPort: String?

    @Option(name: .customLong("cluster-replication-concurrency"), help: NodeKey.clusterReplicationConcurrency.argumentHelp)
    var clusterReplicationConcurrency: String?

    @Option(name: .customLong("cluster-replication-mode"), help: NodeKey.clusterReplicationMode.argumentHelp)
    var clusterReplicationMode: String?

    @Flag(name: [.customLong("mysql-replication")], help: NodeKey.mysqlReplication.argumentHelp)
    var mysqlReplication = false

    @Option(name: .customLong("mysql-replication-port"), help: NodeKey.mysqlReplicationPort.argumentHelp)
    var mysqlReplicationPort: String?

    @Option(name: .customLong("mysql-replication-id"), help: NodeKey.mysqlReplicationId.argumentHelp)
    var mysqlReplicationId: String?

    @Option(name: .customLong("mysql-replication-db"), help: NodeKey.mysqlReplicationDb.argumentHelp)
    var mysqlReplicationDb: String?

    @Option(name: .customLong("mysql-replication-table"), help: NodeKey.mysqlReplicationTable.argumentHelp)
    var mysqlReplicationTable: String?

    @Option(name: .customLong("storage-memory-limit"), help: NodeKey.storageMemoryLimit.argumentHelp)
    var storageMemoryLimit: String?

    @Option(name: .customLong("max-key-length"), help: NodeKey.maxKeyLength.argumentHelp)
    var maxKeyLength: String?

    @Option(name: .customLong("max-value-size"), help: NodeKey.maxValueSize.argumentHelp)
    var maxValueSize: String?

    @Option(name: .customLong("server-address"), help: NodeKey.serverAddress.argumentHelp)
    var serverAddress: String?

    @Option(name: .customLong("log-level"), help: NodeKey.logLevel.argumentHelp)
    var logLevel: String?

    @Option(name: .customLong("rejoin-as-slave"), help: NodeKey.rejoinAsSlave.argumentHelp)
    var rejoinAsSlave: String?

    @Option(name: .customLong("master-lease"), help: NodeKey.masterLease.argumentHelp)
    var masterLease: String?

    @Option(name: .customLong("replication-backlog"), help: NodeKey.replicationBacklog.argumentHelp)
    var replicationBacklog: String?

    @Option(name: .customLong("tombstone-retention"), help: NodeKey.tombstoneRetention.argumentHelp)
    var tombstoneRetention: String?

    /// The keys given on the command line; a switch that was not given is
    /// absent rather than false, so it does not override the file.
    var keyValues: [NodeKey: String] {
        let values: [NodeKey: String?] = [
            .backLog: backLog,
            .daemonize: daemonize ? "true" : nil,
            .dataDir: dataDir,
            .indexServers: indexServers,
            .indexServerName: indexServerName,
            .indexServerPort: indexServerPort,
            .logFacility: logFacility,
            .maxConnection: maxConnection,
            .mutexSlot: mutexSlot,
            .noreplyWindowLimit: noreplyWindowLimit,
            .netReadTimeout: netReadTimeout,
            .proxyConcurrency: proxyConcurrency,
            .reconstructionInterval: reconstructionInterval,
            .reconstructionBwlimit: reconstructionBwlimit,
            .replicationType: replicationType,
            .serverName: serverName,
            .serverPort: serverPort,
            .serverSocket: serverSocket,
            .stackSize: stackSize,
            .storageType: storageType,
            .storageAp: storageAp,
            .storageFp: storageFp,
            .storageBucketSize: storageBucketSize,
            .storageCacheSize: storageCacheSize,
            .storageCompress: storageCompress,
            .storageLarge: storageLarge ? "true" : nil,
            .storageLmemb: storageLmemb,
            .storageNmemb: storageNmemb,
            .storageDfunit: storageDfunit,
            .threadPoolSize: threadPoolSize,
            .proxyPriorNetmask: proxyPriorNetmask,
            .maxTotalThreadQueue: maxTotalThreadQueue,
            .timeWatcherEnabled: timeWatcherEnabled,
            .timeWatcherPollingIntervalMsec: timeWatcherPollingIntervalMsec,
            .storageAccessWatchThresholdWarnMsec: storageAccessWatchThresholdWarnMsec,
            .storageAccessWatchThresholdPingNgMsec: storageAccessWatchThresholdPingNgMsec,
            .clusterReplication: clusterReplication,
            .clusterReplicationServerName: clusterReplicationServerName,
            .clusterReplicationServerPort: clusterReplicationServerPort,
            .clusterReplicationConcurrency: clusterReplicationConcurrency,
            .clusterReplicationMode: clusterReplicationMode,
            .mysqlReplication: mysqlReplication ? "true" : nil,
            .mysqlReplicationPort: mysqlReplicationPort,
            .mysqlReplicationId: mysqlReplicationId,
            .mysqlReplicationDb: mysqlReplicationDb,
            .mysqlReplicationTable: mysqlReplicationTable,
            .storageMemoryLimit: storageMemoryLimit,
            .maxKeyLength: maxKeyLength,
            .maxValueSize: maxValueSize,
            .serverAddress: serverAddress,
            .logLevel: logLevel,
            .rejoinAsSlave: rejoinAsSlave,
            .masterLease: masterLease,
            .replicationBacklog: replicationBacklog,
            .tombstoneRetention: tombstoneRetention,
        ]
        return values.compactMapValues { $0 }
    }
}
