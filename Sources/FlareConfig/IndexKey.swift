/// Every key flarei accepts, in a config file or as `--key` (docs/original-behaviour.md, "Configuration keys").
enum IndexKey: String, SettingKey {
    case daemonize
    case dataDir = "data-dir"
    case indexDB = "index-db"
    case logFacility = "log-facility"
    case maxConnection = "max-connection"
    case monitorThreshold = "monitor-threshold"
    case monitorInterval = "monitor-interval"
    case monitorReadTimeout = "monitor-read-timeout"
    case netReadTimeout = "net-read-timeout"
    case partitionSize = "partition-size"
    case partitionType = "partition-type"
    case partitionModularHint = "partition-modular-hint"
    case partitionModularVirtual = "partition-modular-virtual"
    case keyHashAlgorithm = "key-hash-algorithm"
    case serverName = "server-name"
    case serverPort = "server-port"
    case serverSocket = "server-socket"
    case stackSize = "stack-size"
    case threadPoolSize = "thread-pool-size"
    // Additions of this implementation (not in the original flare).
    case serverAddress = "server-address"
    case logLevel = "log-level"
    case zookeeperSessionTimeout = "zookeeper-session-timeout"

    var spec: SettingSpec {
        switch self {
        case .daemonize:
            SettingSpec(.toggle, default: .value("false"), "run as a daemon (fork, setsid, stdio to /dev/null)")
        case .dataDir:
            SettingSpec(.nonEmptyText, default: .required, valueName: "path",
                        "directory of flare.xml and the default pid file")
        case .indexDB:
            SettingSpec(.indexDatabase, default: .derived("file://<data-dir>"),
                        "node map storage: file:///dir or zookeeper://host:port[,host:port...]/path")
        case .logFacility:
            SettingSpec(.text, default: .value(""), dynamic: true,
                        "syslog facility (daemon, user, local0...local7); unknown names use syslog's default")
        case .maxConnection:
            SettingSpec(.integer(.positive), default: .value("128"), dynamic: true, "maximum simultaneous client connections")
        case .monitorThreshold:
            SettingSpec(.integer(.positive), default: .value("3"), dynamic: true,
                        "failed probes in a row before a node is marked down")
        case .monitorInterval:
            SettingSpec(.integer(.positive), default: .value("5"), dynamic: true, "seconds between probes of a node")
        case .monitorReadTimeout:
            SettingSpec(.integer(.positive), default: .value("1000"), dynamic: true, "ms to wait for a probe's answer")
        case .netReadTimeout:
            // The original multiplies by 1000 and uses milliseconds, so the
            // unit is seconds and the default about 6.9 days (docs/original-behaviour.md, "Configuration keys").
            SettingSpec(.integer(.positive), default: .value("600000"), dynamic: true,
                        "seconds an idle connection is kept open")
        case .partitionSize:
            SettingSpec(.integer(.positive), default: .value("1024"), "maximum number of partitions")
        case .partitionType:
            SettingSpec(.choice(PartitionType.names), default: .value("modular"), "partition resolver")
        case .partitionModularHint:
            SettingSpec(.integer(.positive), default: .value("1"), "hint H of the modular resolver")
        case .partitionModularVirtual:
            SettingSpec(.integer(.positive), default: .value("4096"), "virtual buckets V of the modular resolver")
        case .keyHashAlgorithm:
            SettingSpec(.choice(KeyHashAlgorithm.names), default: .value("simple"), "hash mapping keys to partitions")
        case .serverName:
            SettingSpec(.nonEmptyText, default: .derived("host name"), valueName: "name", "own name")
        case .serverPort:
            SettingSpec(.integer(.port), default: .value("12120"), "TCP port")
        case .serverSocket:
            SettingSpec(.nonEmptyText, default: .none, valueName: "path", "additional UNIX-domain socket path")
        case .stackSize:
            SettingSpec(.integer(.positive), default: .value("128"), "thread stack size in KiB")
        case .threadPoolSize:
            SettingSpec(.integer(.positive), default: .value("5"), dynamic: true, "idle threads kept for reuse")
        case .serverAddress:
            SettingSpec(.nonEmptyText, default: .derived("addresses of server-name"), valueName: "address",
                        "IPv4 listen address; 0.0.0.0 for all; unset, the addresses server-name resolves to (addition of this implementation)")
        case .logLevel:
            SettingSpec(.choice(LogLevel.names), default: .value("info"), dynamic: true,
                        "least severe level logged (addition of this implementation)")
        case .zookeeperSessionTimeout:
            SettingSpec(.integer(.positive), default: .value("3000"),
                        "ms a flarei may be silent before ZooKeeper ends its session and another takes the lead (index-db = zookeeper://; addition of this implementation)")
        }
    }
}
