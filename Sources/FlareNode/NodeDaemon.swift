#if canImport(Glibc)
import Glibc
#endif
import FlareDaemon
import FlareConfig
import FlareNet
import FlareProtocol
import FlareStorage
import Logging

/// flared from start to exit: storage, listener, signals, cluster membership.
///
/// Lives on the main thread; `settings` changes only there (SIGHUP).
public final class NodeDaemon {
    private(set) var settings: NodeSettings
    private let logger: Logger
    private var server: Server!
    private var store: ItemStore!
    private var membership: NodeMembership!
    private var context: NodeContext!

    public init(settings: NodeSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    /// Settings of the original that this implementation accepts but does not act on: say so
    /// rather than ignore them silently.
    private func warnAboutInertSettings() {
        var inert: [String] = []
        if settings.serverSocket != nil { inert.append("server-socket") }
        if settings.timeWatcherEnabled { inert.append("time-watcher-enabled") }
        if settings.clusterReplication { inert.append("cluster-replication") }
        if settings.mysqlReplication { inert.append("mysql-replication") }
        if settings.noreplyWindowLimit != 0 { inert.append("noreply-window-limit") }
        if settings.proxyPriorNetmask != 0 { inert.append("proxy-prior-netmask") }
        if settings.maxTotalThreadQueue != 0 { inert.append("max-total-thread-queue") }
        if !settings.storageCompress.isEmpty { inert.append("storage-compress") }
        if settings.storageLarge { inert.append("storage-large") }
        if settings.storageDfunit != 0 { inert.append("storage-dfunit") }
        for key in inert {
            logger.warning("'\(key)' is accepted for compatibility with flare but has no effect in this implementation")
        }
    }

    /// Runs until SIGTERM/SIGINT. Throws start-up failures with a message for the operator.
    public func run() throws {
        warnAboutInertSettings()
        try ProcessControl.prepareDataDirectory(settings.dataDir)
        let options = StorageOptions(type: settings.storageType, dataDir: settings.dataDir,
                                     bucketSize: settings.storageBucketSize,
                                     memoryLimitBytes: settings.storageMemoryLimit << 20,
                                     deleteHoldCapacity: settings.storageCacheSize)
        store = try ItemStore.open(options)
        if let note = store.mappingNote { logger.notice("\(note)") }
        defer { store.close() }

        membership = NodeMembership(settings: settings, logger: logger)
        let limits = ParserLimits(maxKeyLength: settings.maxKeyLength, maxValueSize: settings.maxValueSize)
        let workers = max(1, settings.threadPoolSize)
        let membership = self.membership!
        let variables = VariablesSnapshot(settings.showVariablesLines())
        let context = NodeContext(store: store, limits: limits, logger: logger, workers: workers,
                                  proxyConcurrency: settings.proxyConcurrency,
                                  membership: membership, showVariables: { variables.lines() })
        let serverOptions = ServerOptions(address: settings.serverAddress, port: settings.serverPort,
                                          backlog: settings.backLog, workers: workers,
                                          maxConnections: settings.maxConnection,
                                          readTimeoutSeconds: settings.netReadTimeout)
        server = try Server(options: serverOptions, logger: logger) { worker in
            let handler = NodeHandler(context: context, worker: worker)
            membership.subscribe(worker: worker, handler: handler)
            return handler
        }
        context.server = server
        context.synchronousReplication.store(settings.replicationType == .sync, ordering: .relaxed)
        self.context = context
        try server.bind()

        let pidPath = settings.effectivePidPath
        try ProcessControl.writePidFile(pidPath)
        defer { ProcessControl.removePidFile(pidPath) }

        server.onSignal(SIGTERM) { [unowned self] in shutdown("SIGTERM") }
        server.onSignal(SIGINT) { [unowned self] in shutdown("SIGINT") }
        server.onSignal(SIGHUP) { [unowned self] in reload(variables) }
        let roleChanges = NodeRoleChanges(context: context, membership: membership, clock: server.clock)
        let rejoin = Rejoin(dataDir: settings.dataDir, logger: logger)
        let formerPartition = rejoin.recordedPartition()
        membership.onSelfChange = { old, new, view in
            rejoin.remember(new)
            if let old { roleChanges.selfChanged(from: old, to: new, in: view) }
        }
        membership.onPartitionsGrew = { [store, logger] view in
            // Masters and slaves of the old partitions drop the keys that moved to the new one.
            guard let me = view.me, me.role == .master || me.role == .slave, me.state == .active,
                  me.partition >= 0, me.partition < view.layout.activeCount else { return }
            Reclaim(store: store!, resolver: view.resolver, partition: me.partition, count: view.layout.activeCount,
                    clock: roleChanges.clock, logger: logger).start()
        }
        if !settings.indexServers.isEmpty {
            context.fencing = true
            context.stallGuard.onStall = { [membership] in membership.confirmAfterStall(context.stallGuard) }
            context.stallGuard.start()
            // A node that was a cluster member before this restart must not serve its old data as a
            // one-node cluster: until it has registered, data requests are refused. A node that never
            // registered serves standalone meanwhile, as a new node should.
            let member = ClusterMemberRecord(dataDir: settings.dataDir)
            if member.exists {
                context.stallGuard.fence()
                logger.notice("this node was a cluster member: data requests wait for the index server to confirm its role")
            }
            membership.onIndexMap = { [stallGuard = context.stallGuard] view in
                member.write()
                stallGuard.heardFromIndex(version: view.version)
            }
        }
        membership.start()
        if settings.rejoinAsSlave, !settings.indexServers.isEmpty, let formerPartition {
            let store = self.store!
            rejoin.start(partition: formerPartition, membership: membership) { [logger] in
                do { try store.flushAll() } catch { logger.error("rejoin-as-slave: clearing the old data failed: \(error)") }
            }
        }
        logger.info("flared listening on \(settings.serverAddress):\(settings.serverPort) with \(workers) worker threads, storage \(settings.storageType) in \(settings.dataDir)")
        try server.run()
        logger.info("flared stopped; storage closed cleanly")
    }

    private func shutdown(_ reason: String) {
        logger.notice("\(reason) received: shutting down")
        membership.stop()
        server.stop()
    }

    /// SIGHUP: re-read the file and apply the dynamic keys; a broken file keeps the old settings.
    private func reload(_ variables: VariablesSnapshot) {
        Reload.run(configPath: settings.configPath, daemon: "flared", logger: logger) { path in
            let (updated, changes) = try settings.reloaded(from: path)
            settings = updated
            server.maxConnections = updated.maxConnection
            server.readTimeoutSeconds = updated.netReadTimeout
            membership.update(settings: updated)
            context.synchronousReplication.store(updated.replicationType == .sync, ordering: .relaxed)
            variables.update(updated.showVariablesLines())
            return changes
        }
    }
}
