/// Every key flared accepts, in a config file or as `--key` (docs/original-behaviour.md, "Configuration keys").
enum NodeKey: String, SettingKey {
    case backLog = "back-log"
    case daemonize
    case dataDir = "data-dir"
    case indexServers = "index-servers"
    case indexServerName = "index-server-name"
    case indexServerPort = "index-server-port"
    case logFacility = "log-facility"
    case maxConnection = "max-connection"
    case mutexSlot = "mutex-slot"
    case noreplyWindowLimit = "noreply-window-limit"
    case netReadTimeout = "net-read-timeout"
    case proxyConcurrency = "proxy-concurrency"
    case reconstructionInterval = "reconstruction-interval"
    case reconstructionBwlimit = "reconstruction-bwlimit"
    case replicationType = "replication-type"
    case serverName = "server-name"
    case serverPort = "server-port"
    case serverSocket = "server-socket"
    case stackSize = "stack-size"
    case storageType = "storage-type"
    case storageAp = "storage-ap"
    case storageFp = "storage-fp"
    case storageBucketSize = "storage-bucket-size"
    case storageCacheSize = "storage-cache-size"
    case storageCompress = "storage-compress"
    case storageLarge = "storage-large"
    case storageLmemb = "storage-lmemb"
    case storageNmemb = "storage-nmemb"
    case storageDfunit = "storage-dfunit"
    case threadPoolSize = "thread-pool-size"
    case proxyPriorNetmask = "proxy-prior-netmask"
    case maxTotalThreadQueue = "max-total-thread-queue"
    case timeWatcherEnabled = "time-watcher-enabled"
    case timeWatcherPollingIntervalMsec = "time-watcher-polling-interval-msec"
    case storageAccessWatchThresholdWarnMsec = "storage-access-watch-threshold-warn-msec"
    case storageAccessWatchThresholdPingNgMsec = "storage-access-watch-threshold-ping-ng-msec"
    case clusterReplication = "cluster-replication"
    case clusterReplicationServerName = "cluster-replication-server-name"
    case clusterReplicationServerPort = "cluster-replication-server-port"
    case clusterReplicationConcurrency = "cluster-replication-concurrency"
    case clusterReplicationMode = "cluster-replication-mode"
    case mysqlReplication = "mysql-replication"
    case mysqlReplicationPort = "mysql-replication-port"
    case mysqlReplicationId = "mysql-replication-id"
    case mysqlReplicationDb = "mysql-replication-db"
    case mysqlReplicationTable = "mysql-replication-table"
    // Additions of this implementation (not in the original flare).
    case storageMemoryLimit = "storage-memory-limit"
    case maxKeyLength = "max-key-length"
    case maxValueSize = "max-value-size"
    case serverAddress = "server-address"
    case logLevel = "log-level"
    case rejoinAsSlave = "rejoin-as-slave"
    case masterLease = "master-lease"
    case replicationBacklog = "replication-backlog"
    case tombstoneRetention = "tombstone-retention"

    var spec: SettingSpec {
        switch self {
        case .backLog:
            // memcached's 1024: the original flare's 30 stalls connects under a burst of new connections.
            SettingSpec(.integer(.positive), default: .value("1024"), "listen backlog")
        case .daemonize:
            SettingSpec(.toggle, default: .value("false"), "run as a daemon (fork, setsid, stdio to /dev/null)")
        case .dataDir:
            SettingSpec(.nonEmptyText, default: .required, valueName: "path",
                        "database directory; also holds the default pid file")
        case .indexServers:
            SettingSpec(.indexServerList, default: .none, dynamic: true,
                        "index servers as name:port[,name:port...]; not together with index-server-name/-port")
        case .indexServerName:
            SettingSpec(.nonEmptyText, default: .none, dynamic: true, valueName: "name",
                        "single index server (required unless index-servers is given)")
        case .indexServerPort:
            SettingSpec(.integer(.port), default: .value("12120"), dynamic: true, "port of index-server-name")
        case .logFacility:
            SettingSpec(.text, default: .value(""), dynamic: true,
                        "syslog facility (daemon, user, local0...local7); unknown names use syslog's default")
        case .maxConnection:
            SettingSpec(.integer(.positive), default: .value("128"), dynamic: true, "maximum simultaneous client connections")
        case .mutexSlot:
            SettingSpec(.integer(.positive), default: .value("64"), "number of lock stripes for storage access (accepted for compatibility; the engines size their own locks)")
        case .noreplyWindowLimit:
            SettingSpec(.integer(.nonNegative), default: .value("0"), dynamic: true,
                        "flow control of asynchronous replication, 0 = off (accepted for compatibility; no effect in this implementation)")
        case .netReadTimeout:
            SettingSpec(.integer(.positive), default: .value("600"), dynamic: true,
                        "seconds an idle connection (client or node) is kept open")
        case .proxyConcurrency:
            SettingSpec(.integer(.positive), default: .value("2"), "worker connections per destination node")
        case .reconstructionInterval:
            SettingSpec(.integer(.nonNegative), default: .value("0"), dynamic: true,
                        "microseconds to pause per item while copying from another node")
        case .reconstructionBwlimit:
            SettingSpec(.integer(.nonNegative), default: .value("0"), dynamic: true,
                        "KiB/s limit while copying from another node, 0 = unlimited")
        case .replicationType:
            SettingSpec(.choice(ReplicationType.names), default: .value("async"), dynamic: true, "default replication mode")
        case .serverName:
            SettingSpec(.nonEmptyText, default: .derived("host name"), valueName: "name",
                        "own name; with server-port it forms the node key")
        case .serverPort:
            SettingSpec(.integer(.port), default: .value("12121"), "TCP port")
        case .serverSocket:
            SettingSpec(.nonEmptyText, default: .none, valueName: "path", "additional UNIX-domain socket path (accepted for compatibility; no effect in this implementation)")
        case .stackSize:
            SettingSpec(.integer(.positive), default: .value("128"), "thread stack size in KiB (accepted for compatibility; no effect in this implementation)")
        case .storageType:
            SettingSpec(.choice(NodeSettings.storageTypes), default: .value("tch"),
                        "storage engine: tch (hash), tcb (B+tree), kch (hash), memory (not persistent)")
        case .storageAp:
            SettingSpec(.integer(.unsigned32), default: .value("4"), "record alignment as a power of 2 (tch/tcb/kch) (accepted for compatibility; no effect in this implementation)")
        case .storageFp:
            SettingSpec(.integer(.unsigned32), default: .value("10"), "free block pool size as a power of 2 (tch/tcb) (accepted for compatibility; no effect in this implementation)")
        case .storageBucketSize:
            SettingSpec(.integer(0...Int.max), default: .value("131071"), "number of hash buckets")
        case .storageCacheSize:
            SettingSpec(.integer(.nonNegative), default: .value("65536"), "entries of the delete/version cache")
        case .storageCompress:
            SettingSpec(.choice(NodeSettings.storageCompressions), default: .value(""),
                        "record compression: empty (none), deflate, bz2 or tcbs (accepted for compatibility; no effect in this implementation)")
        case .storageLarge:
            SettingSpec(.toggle, default: .value("false"), "support databases over 2 GB (accepted for compatibility; no effect in this implementation)")
        case .storageLmemb:
            SettingSpec(.integer(.nonNegative), default: .value("128"), "members per leaf page (tcb) (accepted for compatibility; no effect in this implementation)")
        case .storageNmemb:
            SettingSpec(.integer(.nonNegative), default: .value("256"), "members per non-leaf page (tcb) (accepted for compatibility; no effect in this implementation)")
        case .storageDfunit:
            SettingSpec(.integer(.nonNegative), default: .value("0"), "auto-defragmentation unit, 0 = off (accepted for compatibility; no effect in this implementation)")
        case .threadPoolSize:
            SettingSpec(.integer(.positive), default: .value("5"), dynamic: false, "worker threads, each running its own event loop (needs a restart to change)")
        case .proxyPriorNetmask:
            SettingSpec(.integer(0...32), default: .value("0"),
                        "prefer read targets in the same IPv4 /n network, 0 = off (accepted for compatibility; no effect in this implementation)")
        case .maxTotalThreadQueue:
            SettingSpec(.integer(.unsigned32), default: .value("0"), dynamic: true,
                        "limit of queued proxy jobs over all nodes, 0 = unlimited (accepted for compatibility; no effect in this implementation)")
        case .timeWatcherEnabled:
            SettingSpec(.boolean, default: .value("false"), dynamic: true, "watch storage accesses for stalls (accepted for compatibility; no effect in this implementation)")
        case .timeWatcherPollingIntervalMsec:
            SettingSpec(.integer(.unsigned32), default: .value("0"), dynamic: true,
                        "stall watcher period in ms, 0 = watcher off (accepted for compatibility; no effect in this implementation)")
        case .storageAccessWatchThresholdWarnMsec:
            SettingSpec(.integer(.unsigned32), default: .value("0"), dynamic: true,
                        "log storage accesses running longer than this many ms (accepted for compatibility; no effect in this implementation)")
        case .storageAccessWatchThresholdPingNgMsec:
            SettingSpec(.integer(.unsigned32), default: .value("0"), dynamic: true,
                        "mark the node 'storage error' after a stall longer than this many ms (accepted for compatibility; no effect in this implementation)")
        case .clusterReplication:
            SettingSpec(.boolean, default: .value("false"), dynamic: true, "replicate writes to another cluster (accepted for compatibility; no effect in this implementation)")
        case .clusterReplicationServerName:
            SettingSpec(.text, default: .value(""), dynamic: true, "host of the other cluster (accepted for compatibility; no effect in this implementation)")
        case .clusterReplicationServerPort:
            SettingSpec(.integer(.port), default: .value("12121"), dynamic: true, "port of the other cluster (accepted for compatibility; no effect in this implementation)")
        case .clusterReplicationConcurrency:
            SettingSpec(.integer(.positive), default: .derived("proxy-concurrency"),
                        "connections to the other cluster (accepted for compatibility; no effect in this implementation)")
        case .clusterReplicationMode:
            SettingSpec(.choice(ClusterReplicationMode.names), default: .value("duplicate"), dynamic: true,
                        "cluster replication mode (accepted for compatibility; no effect in this implementation)")
        case .mysqlReplication:
            SettingSpec(.toggle, default: .value("false"),
                        "accepted so existing files keep working; MySQL replication is not implemented")
        case .mysqlReplicationPort:
            SettingSpec(.integer(.port), default: .value("12122"), "MySQL replication port (not implemented)")
        case .mysqlReplicationId:
            SettingSpec(.integer(.unsigned32), default: .value("19790217"), "MySQL replication server id (not implemented)")
        case .mysqlReplicationDb:
            SettingSpec(.text, default: .value("flare"), "MySQL replication database (not implemented)")
        case .mysqlReplicationTable:
            SettingSpec(.text, default: .value("flare"), "MySQL replication table (not implemented)")
        case .storageMemoryLimit:
            SettingSpec(.integer(.positive), default: .value("64"),
                        "MiB of data kept by storage-type=memory (addition of this implementation)")
        case .maxKeyLength:
            SettingSpec(.integer(.positive), default: .value("8191"),
                        "longest key in bytes; flare accepts keys over memcached's 250 (addition of this implementation)")
        case .maxValueSize:
            SettingSpec(.integer(.positive), default: .value("67108864"),
                        "largest value in bytes; flare accepts values over 1 MB (addition of this implementation)")
        case .serverAddress:
            SettingSpec(.nonEmptyText, default: .derived("addresses of server-name"), valueName: "address",
                        "IPv4 listen address; 0.0.0.0 for all; unset, the addresses server-name resolves to (addition of this implementation)")
        case .logLevel:
            SettingSpec(.choice(LogLevel.names), default: .value("info"), dynamic: true,
                        "least severe level logged (addition of this implementation)")
        case .rejoinAsSlave:
            SettingSpec(.boolean, default: .value("false"),
                        "after a restart, rejoin the former partition as a slave and catch up (addition of this implementation)")
        case .masterLease:
            SettingSpec(.integer(0...600_000), default: .value("1000"),
                        "ms an active master with slaves may acknowledge writes after last hearing from the index, 0 = off; keep it below the index's fail-over time (monitor-interval x monitor-threshold) (addition of this implementation)")
        case .replicationBacklog:
            // Up to 16 GiB: the backlog lives in memory.
            SettingSpec(.integer(0...(16 << 30)), default: .value("67108864"),
                        "bytes of recent copies a master keeps so a restarted slave can catch up without a full copy, 0 = off (addition of this implementation)")
        case .tombstoneRetention:
            // Up to 30 days; the sweep and the lazy purge use the value the store was opened with.
            SettingSpec(.integer(0...2_592_000), default: .value("3600"),
                        "seconds a deleted key's tombstone is stored so that older copies stay refused, 0 = only the in-memory storage-cache-size entries (addition of this implementation)")
        }
    }
}
