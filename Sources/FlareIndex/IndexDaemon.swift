#if canImport(Glibc)
import Glibc
#endif
import FlareDaemon
import FlareCluster
import FlareConfig
import FlareNet
import Logging

/// flarei from start to exit: the node map, the monitors, the listener, signals.
/// Lives on the main thread; `settings` changes only there (SIGHUP).
public final class IndexDaemon {
    private var settings: IndexSettings
    private let logger: Logger
    private(set) var server: Server!
    private var coordinator: Coordinator!

    public enum Failure: Error, CustomStringConvertible {
        case unsupportedIndexDB(String)

        public var description: String {
            switch self {
            case .unsupportedIndexDB(let uri):
                "index-db \(uri): only file:// is supported; ZooKeeper coordination is not available in this build"
            }
        }
    }

    public init(settings: IndexSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    public func run() throws {
        guard case .file(let directory) = settings.indexDB else {
            throw Failure.unsupportedIndexDB(settings.indexDB.description)
        }
        try ProcessControl.prepareDataDirectory(directory)
        let monitorSettings = Coordinator.MonitorSettings(threshold: settings.monitorThreshold,
                                                          interval: settings.monitorInterval,
                                                          readTimeoutMilliseconds: settings.monitorReadTimeout)
        coordinator = try Coordinator(file: MapFile(directory: directory), settings: monitorSettings, logger: logger)
        let meta = IndexContext.Meta(partitionSize: settings.partitionSize, keyHashAlgorithm: settings.keyHashAlgorithm.rawValue,
                                     hint: settings.partitionModularHint, virtual: settings.partitionModularVirtual)
        let variables = VariablesSnapshot(settings.showVariablesLines())
        let context = IndexContext(coordinator: coordinator, meta: meta, showVariables: { variables.lines() })
        let options = ServerOptions(address: settings.serverAddress, port: settings.serverPort, backlog: 30,
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
        logger.info("flarei listening on \(settings.serverAddress):\(settings.serverPort); node map version \(state.version) with \(state.map.count) node(s) from \(directory)/flare.xml")
        coordinator.startMonitoring()
        try server.run()
        coordinator.stopMonitoring()
        logger.info("flarei stopped")
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
