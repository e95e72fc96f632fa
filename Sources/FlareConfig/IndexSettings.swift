/// The effective configuration of flarei: defaults, then the config file, then
/// the command line. One property per key (docs/original-behaviour.md, "Configuration keys"), plus the
/// command-line-only options.
public struct IndexSettings: Equatable, Sendable {
    // Command-line-only options.
    /// `-f`, as given; nil when no file was read.
    public var configPath: String?
    /// `-p`, as given; nil means `defaultPidPath`.
    public var pidPath: String?
    /// `-s`: log to stderr instead of syslog.
    public var logToStderr: Bool

    public var daemonize: Bool
    public var dataDir: String
    /// `index-db`; defaults to `.file(directory: dataDir)` (then relative if
    /// `data-dir` is, which the daemon must resolve before daemonizing).
    public var indexDB: IndexDatabase
    public var logFacility: String
    public var maxConnection: Int
    public var monitorThreshold: Int
    /// Seconds.
    public var monitorInterval: Int
    /// Milliseconds.
    public var monitorReadTimeout: Int
    /// Seconds (see docs/original-behaviour.md, "Configuration keys", on the original's unit quirk).
    public var netReadTimeout: Int
    public var partitionSize: Int
    public var partitionType: PartitionType
    public var partitionModularHint: Int
    public var partitionModularVirtual: Int
    public var keyHashAlgorithm: KeyHashAlgorithm
    public var serverName: String
    public var serverPort: Int
    public var serverSocket: String?
    /// KiB.
    public var stackSize: Int
    public var threadPoolSize: Int
    /// Listen address as the operator set it; nil = every IPv4 address `serverName` resolves to.
    public var serverAddress: String?
    public var logLevel: LogLevel
    /// Milliseconds; asked of ZooKeeper, which bounds it by its tickTime (2 to 20 ticks).
    public var zookeeperSessionTimeout: Int

    /// Kept so a SIGHUP reload re-applies what the operator typed at start-up.
    /// Part of equality: settings from different command lines reload
    /// differently even when their current values agree.
    let commandLineValues: RawSettings<IndexKey>

    /// `<data-dir>/flarei.pid`, used when `-p` is not given.
    public var defaultPidPath: String { dataDir + "/flarei.pid" }

    /// `pidPath` if given, otherwise `defaultPidPath`.
    public var effectivePidPath: String { pidPath ?? defaultPidPath }

    init(resolving values: SettingsResolver<IndexKey>, launch: LaunchOptions<IndexKey>) throws(ConfigError) {
        configPath = launch.configPath
        pidPath = launch.pidPath
        logToStderr = launch.logToStderr
        commandLineValues = launch.commandLineValues

        daemonize = values.bool(.daemonize)
        dataDir = try values.requiredText(.dataDir)
        indexDB = values.indexDatabase(.indexDB) ?? .file(directory: dataDir)
        logFacility = values.text(.logFacility)
        maxConnection = values.int(.maxConnection)
        monitorThreshold = values.int(.monitorThreshold)
        monitorInterval = values.int(.monitorInterval)
        monitorReadTimeout = values.int(.monitorReadTimeout)
        netReadTimeout = values.int(.netReadTimeout)
        partitionSize = values.int(.partitionSize)
        partitionType = values.choice(.partitionType)
        partitionModularHint = values.int(.partitionModularHint)
        partitionModularVirtual = values.int(.partitionModularVirtual)
        keyHashAlgorithm = values.choice(.keyHashAlgorithm)
        serverName = values.optionalText(.serverName) ?? HostName.current()
        serverPort = values.int(.serverPort)
        serverSocket = values.optionalText(.serverSocket)
        stackSize = values.int(.stackSize)
        threadPoolSize = values.int(.threadPoolSize)
        serverAddress = values.optionalText(.serverAddress)
        logLevel = values.choice(.logLevel)
        zookeeperSessionTimeout = values.int(.zookeeperSessionTimeout)
    }
}
