/// The effective configuration of flared: defaults, then the config file, then
/// the command line. One property per key (docs/original-behaviour.md, "Configuration keys"; the three
/// index-server keys become `indexServers`), plus the command-line-only
/// options. Units are those of the keys (see each comment).
public struct NodeSettings: Equatable, Sendable {
    /// Engines `storage-type` may name; FlareStorage owns their implementations.
    public static let storageTypes = ["tch", "tcb", "kch", "memory"]
    /// Values of `storage-compress`; the empty string means no compression.
    public static let storageCompressions = ["", "deflate", "bz2", "tcbs"]

    // Command-line-only options.
    /// `-f`, as given; nil when no file was read.
    public var configPath: String?
    /// `-p`, as given; nil means `defaultPidPath`.
    public var pidPath: String?
    /// `-s`: log to stderr instead of syslog.
    public var logToStderr: Bool

    public var backLog: Int
    public var daemonize: Bool
    public var dataDir: String
    /// From `index-servers`, or `index-server-name` + `index-server-port`.
    public var indexServers: [IndexServerAddress]
    public var logFacility: String
    public var maxConnection: Int
    public var mutexSlot: Int
    public var noreplyWindowLimit: Int
    /// Seconds.
    public var netReadTimeout: Int
    public var proxyConcurrency: Int
    /// Microseconds per item.
    public var reconstructionInterval: Int
    /// KiB/s, 0 = unlimited.
    public var reconstructionBwlimit: Int
    public var replicationType: ReplicationType
    public var serverName: String
    public var serverPort: Int
    public var serverSocket: String?
    /// KiB.
    public var stackSize: Int
    /// One of `storageTypes`.
    public var storageType: String
    public var storageAp: Int
    public var storageFp: Int
    public var storageBucketSize: Int
    public var storageCacheSize: Int
    /// One of `storageCompressions`.
    public var storageCompress: String
    public var storageLarge: Bool
    public var storageLmemb: Int
    public var storageNmemb: Int
    public var storageDfunit: Int
    public var threadPoolSize: Int
    /// Prefix bits, 0 = off.
    public var proxyPriorNetmask: Int
    /// 0 = unlimited.
    public var maxTotalThreadQueue: Int
    public var timeWatcherEnabled: Bool
    public var timeWatcherPollingIntervalMsec: Int
    public var storageAccessWatchThresholdWarnMsec: Int
    public var storageAccessWatchThresholdPingNgMsec: Int
    public var clusterReplication: Bool
    public var clusterReplicationServerName: String
    public var clusterReplicationServerPort: Int
    public var clusterReplicationConcurrency: Int
    public var clusterReplicationMode: ClusterReplicationMode
    public var mysqlReplication: Bool
    public var mysqlReplicationPort: Int
    public var mysqlReplicationId: Int
    public var mysqlReplicationDb: String
    public var mysqlReplicationTable: String
    /// MiB, for `storageType == "memory"`.
    public var storageMemoryLimit: Int
    /// Bytes.
    public var maxKeyLength: Int
    /// Bytes.
    public var maxValueSize: Int
    /// Listen address as the operator set it; nil = every IPv4 address `serverName` resolves to.
    public var serverAddress: String?
    public var logLevel: LogLevel
    /// After a restart, rejoin the former partition as a slave on its own (off by default).
    public var rejoinAsSlave: Bool
    /// Milliseconds, 0 = off: how long an active master with slaves may act as master after it
    /// last heard from the index.
    public var masterLease: Int
    /// Bytes of recent copies an active master keeps for catching restarted slaves up, 0 = off.
    public var replicationBacklog: Int
    /// Seconds a deleted key's tombstone record is kept, 0 = only the delete-hold cache.
    public var tombstoneRetention: Int

    /// Kept so a SIGHUP reload re-applies what the operator typed at start-up.
    /// Part of equality: settings from different command lines reload
    /// differently even when their current values agree.
    let commandLineValues: RawSettings<NodeKey>

    /// `<data-dir>/flared.pid`, used when `-p` is not given.
    public var defaultPidPath: String { dataDir + "/flared.pid" }

    /// `pidPath` if given, otherwise `defaultPidPath`.
    public var effectivePidPath: String { pidPath ?? defaultPidPath }

    init(resolving values: SettingsResolver<NodeKey>, launch: LaunchOptions<NodeKey>) throws(ConfigError) {
        configPath = launch.configPath
        pidPath = launch.pidPath
        logToStderr = launch.logToStderr
        commandLineValues = launch.commandLineValues

        backLog = values.int(.backLog)
        daemonize = values.bool(.daemonize)
        dataDir = try values.requiredText(.dataDir)
        indexServers = try Self.indexServers(values)
        logFacility = values.text(.logFacility)
        maxConnection = values.int(.maxConnection)
        mutexSlot = values.int(.mutexSlot)
        noreplyWindowLimit = values.int(.noreplyWindowLimit)
        netReadTimeout = values.int(.netReadTimeout)
        proxyConcurrency = values.int(.proxyConcurrency)
        reconstructionInterval = values.int(.reconstructionInterval)
        reconstructionBwlimit = values.int(.reconstructionBwlimit)
        replicationType = values.choice(.replicationType)
        serverName = values.optionalText(.serverName) ?? HostName.current()
        serverPort = values.int(.serverPort)
        serverSocket = values.optionalText(.serverSocket)
        stackSize = values.int(.stackSize)
        storageType = values.text(.storageType)
        storageAp = values.int(.storageAp)
        storageFp = values.int(.storageFp)
        storageBucketSize = values.int(.storageBucketSize)
        storageCacheSize = values.int(.storageCacheSize)
        storageCompress = values.text(.storageCompress)
        storageLarge = values.bool(.storageLarge)
        storageLmemb = values.int(.storageLmemb)
        storageNmemb = values.int(.storageNmemb)
        storageDfunit = values.int(.storageDfunit)
        threadPoolSize = values.int(.threadPoolSize)
        proxyPriorNetmask = values.int(.proxyPriorNetmask)
        maxTotalThreadQueue = values.int(.maxTotalThreadQueue)
        timeWatcherEnabled = values.bool(.timeWatcherEnabled)
        timeWatcherPollingIntervalMsec = values.int(.timeWatcherPollingIntervalMsec)
        storageAccessWatchThresholdWarnMsec = values.int(.storageAccessWatchThresholdWarnMsec)
        storageAccessWatchThresholdPingNgMsec = values.int(.storageAccessWatchThresholdPingNgMsec)
        clusterReplication = values.bool(.clusterReplication)
        clusterReplicationServerName = values.text(.clusterReplicationServerName)
        clusterReplicationServerPort = values.int(.clusterReplicationServerPort)
        clusterReplicationConcurrency = values.optionalInt(.clusterReplicationConcurrency) ?? proxyConcurrency
        clusterReplicationMode = values.choice(.clusterReplicationMode)
        mysqlReplication = values.bool(.mysqlReplication)
        mysqlReplicationPort = values.int(.mysqlReplicationPort)
        mysqlReplicationId = values.int(.mysqlReplicationId)
        mysqlReplicationDb = values.text(.mysqlReplicationDb)
        mysqlReplicationTable = values.text(.mysqlReplicationTable)
        storageMemoryLimit = values.int(.storageMemoryLimit)
        maxKeyLength = values.int(.maxKeyLength)
        maxValueSize = values.int(.maxValueSize)
        serverAddress = values.optionalText(.serverAddress)
        logLevel = values.choice(.logLevel)
        rejoinAsSlave = values.bool(.rejoinAsSlave)
        masterLease = values.int(.masterLease)
        replicationBacklog = values.int(.replicationBacklog)
        tombstoneRetention = values.int(.tombstoneRetention)
    }

    /// Either the list form or the single name (+ port) form; mixing them
    /// would leave it unclear which servers the operator meant. None means standalone.
    private static func indexServers(_ values: SettingsResolver<NodeKey>) throws(ConfigError) -> [IndexServerAddress] {
        if let list = values.given(.indexServers) {
            for singleKey in [NodeKey.indexServerName, .indexServerPort] {
                if let single = values.given(singleKey) {
                    throw .conflictingKeys(key: NodeKey.indexServers.name, at: list.location,
                                           otherKey: singleKey.name, otherAt: single.location)
                }
            }
            return values.indexServers(.indexServers) ?? []
        }
        // No index server at all is allowed: the node then runs standalone as a one-node cluster.
        // A port alone, though, means a name was forgotten.
        guard let name = values.optionalText(.indexServerName) else {
            if values.given(.indexServerPort) != nil { throw .missingIndexServer }
            return []
        }
        return [IndexServerAddress(name: name, port: values.int(.indexServerPort))]
    }
}
