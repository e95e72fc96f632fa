#if canImport(Glibc)
import Glibc
#endif
import FlareDaemon
import FlareCluster
import FlareConfig
import FlareNet
import FlareZooKeeper
import Logging

/// flarei from start to exit: the node map, the monitors, the listener, signals.
/// Lives on the main thread; `settings` changes only there (SIGHUP).
public final class IndexDaemon {
    private var settings: IndexSettings
    private let logger: Logger
    package private(set) var server: Server!
    private var coordinator: Coordinator!

    private var zooKeeper: ZooKeeperIndex?

    public enum Failure: Error, CustomStringConvertible {
        case zooKeeper(String)
        case badMeta(key: String, value: String)

        public var description: String {
            switch self {
            case .zooKeeper(let reason): "index-db: \(reason)"
            case .badMeta(let key, let value): "ZooKeeper meta value \(key) = '\(value)' is not valid"
            }
        }
    }

    public init(settings: IndexSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    public func run() throws {
        let monitorSettings = Coordinator.MonitorSettings(threshold: settings.monitorThreshold,
                                                          interval: settings.monitorInterval,
                                                          readTimeoutMilliseconds: settings.monitorReadTimeout)
        var meta = IndexContext.Meta(partitionSize: settings.partitionSize, keyHashAlgorithm: settings.keyHashAlgorithm.rawValue,
                                     hint: settings.partitionModularHint, virtual: settings.partitionModularVirtual)
        let source: String
        switch settings.indexDB {
        case .file(let directory):
            try ProcessControl.prepareDataDirectory(directory)
            coordinator = try Coordinator(file: MapFile(directory: directory), settings: monitorSettings, logger: logger)
            source = "\(directory)/flare.xml"
        case .zookeeper(let servers, let path):
            try ProcessControl.prepareDataDirectory(settings.dataDir)  // the pid file's home
            let link = ZooKeeperIndex(servers: servers, tree: IndexTree(root: path), me: "\(settings.serverName):\(settings.serverPort)",
                                      sessionTimeoutMilliseconds: Int32(clamping: settings.zookeeperSessionTimeout), logger: logger)
            let (state, values) = try Self.loading { () throws(ZooKeeperIndex.Failure) in try link.load(waitingUpTo: 10) }
            meta = try Self.overriding(meta, with: values)
            coordinator = Coordinator(following: state, store: link.store, settings: monitorSettings, logger: logger)
            zooKeeper = link
            source = settings.indexDB.description
        }
        let variables = VariablesSnapshot(settings.showVariablesLines())
        let context = IndexContext(coordinator: coordinator, meta: meta, showVariables: { variables.lines() })
        let listen = try ListenAddresses.choose(configured: settings.serverAddress, serverName: settings.serverName)
        let options = ServerOptions(addresses: listen.addresses, port: settings.serverPort, backlog: 30,
                                    workers: max(1, min(settings.threadPoolSize, 4)),
                                    maxConnections: settings.maxConnection, readTimeoutSeconds: settings.netReadTimeout)
        server = try Server(options: options, logger: logger) { worker in IndexHandler(context: context, worker: worker) }
        context.server = server
        coordinator.allocateID = { [server] in server!.allocateID() }
        coordinator.monitorSourceAddress = settings.serverAddress == "0.0.0.0" ? nil : settings.serverAddress
        try server.bind()

        let pidPath = settings.effectivePidPath
        try ProcessControl.writePidFile(pidPath)
        defer { ProcessControl.removePidFile(pidPath) }

        server.onSignal(SIGTERM) { [unowned self] in shutdown("SIGTERM") }
        server.onSignal(SIGINT) { [unowned self] in shutdown("SIGINT") }
        server.onSignal(SIGHUP) { [unowned self] in reload(variables) }
        let state = coordinator.snapshot
        logger.info("flarei listening on \(listen.describe(port: settings.serverPort)) (\(listen.origin)); node map version \(state.version) with \(state.map.count) node(s) from \(source)")
        if let zooKeeper {
            // Leads or follows once the election says so; the listener is up first, so a leader
            // is reachable as soon as it is named in index/primary.
            zooKeeper.join(coordinator)
        } else {
            coordinator.startMonitoring()
        }
        try server.run()
        zooKeeper?.close()
        coordinator.stopMonitoring()
        logger.info("flarei stopped")
    }

    private static func loading<T>(_ body: () throws(ZooKeeperIndex.Failure) -> T) throws(Failure) -> T {
        do { return try body() } catch { throw .zooKeeper(error.description) }
    }

    /// `index/meta/*` values take precedence over the configuration file, as in the original.
    static func overriding(_ meta: IndexContext.Meta, with values: [String: String]) throws(Failure) -> IndexContext.Meta {
        func int(_ key: String, _ fallback: Int) throws(Failure) -> Int {
            guard let text = values[key] else { return fallback }
            guard let value = Int(text), value > 0 else { throw .badMeta(key: key, value: text) }
            return value
        }
        var algorithm = meta.keyHashAlgorithm
        if let text = values["key-hash-algorithm"] {
            guard FlareConfig.KeyHashAlgorithm(rawValue: text) != nil else { throw .badMeta(key: "key-hash-algorithm", value: text) }
            algorithm = text
        }
        if let type = values["partition-type"], type != "modular" { throw .badMeta(key: "partition-type", value: type) }
        return IndexContext.Meta(partitionSize: try int("partition-size", meta.partitionSize), keyHashAlgorithm: algorithm,
                                 hint: try int("partition-modular-hint", meta.hint), virtual: try int("partition-modular-virtual", meta.virtual))
    }

    private func shutdown(_ reason: String) {
        logger.notice("\(reason) received: shutting down")
        server.stop()
    }

    private func reload(_ variables: VariablesSnapshot) {
        Reload.run(configPath: settings.configPath, daemon: "flarei", logger: logger) { path in
            let (updated, changes) = try settings.reloaded(from: path)
            settings = updated
            variables.update(updated.showVariablesLines())
            server.maxConnections = updated.maxConnection
            server.readTimeoutSeconds = updated.netReadTimeout
            coordinator.monitorSettings = Coordinator.MonitorSettings(threshold: updated.monitorThreshold,
                                                                     interval: updated.monitorInterval,
                                                                     readTimeoutMilliseconds: updated.monitorReadTimeout)
            return changes
        }
    }
}
