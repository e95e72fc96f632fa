#if canImport(Glibc)
import Glibc
#endif
import FlareCluster
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
    package private(set) var server: Server!
    private var store: ItemStore!
    private var membership: NodeMembership!
    package private(set) var context: NodeContext!

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
        // Bound first: clients (and the tools' start-up checks) connecting while the storage opens
        // wait in the backlog instead of being refused; a port in use stops us before the database.
        let listen = try ListenAddresses.choose(configured: settings.serverAddress, serverName: settings.serverName)
        let sockets = try ListeningSockets(addresses: listen.addresses, port: settings.serverPort, backlog: settings.backLog)
        try ProcessControl.prepareDataDirectory(settings.dataDir)
        let options = StorageOptions(type: settings.storageType, dataDir: settings.dataDir,
                                     bucketSize: settings.storageBucketSize,
                                     memoryLimitBytes: settings.storageMemoryLimit << 20,
                                     deleteHoldCapacity: settings.storageCacheSize,
                                     tombstoneRetention: Int64(settings.tombstoneRetention))
        store = try ItemStore.open(options)
        if let note = store.mappingNote { logger.notice("\(note)") }
        defer { store.close() }

        membership = NodeMembership(settings: settings, gate: StallGuard(watchesStalls: !settings.indexServers.isEmpty),
                                    logger: logger)
        let limits = ParserLimits(maxKeyLength: settings.maxKeyLength, maxValueSize: settings.maxValueSize)
        let workers = max(1, settings.threadPoolSize)
        let membership = self.membership!
        let variables = VariablesSnapshot(settings.showVariablesLines())
        let context = NodeContext(store: store, limits: limits, logger: logger, workers: workers,
                                  proxyConcurrency: settings.proxyConcurrency, backlogBytes: settings.replicationBacklog,
                                  membership: membership, showVariables: { variables.lines() })
        let serverOptions = ServerOptions(addresses: listen.addresses, port: settings.serverPort,
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
        server.adopt(sockets)

        let pidPath = settings.effectivePidPath
        try ProcessControl.writePidFile(pidPath)
        defer { ProcessControl.removePidFile(pidPath) }

        server.onSignal(SIGTERM) { [unowned self] in shutdown("SIGTERM") }
        server.onSignal(SIGINT) { [unowned self] in shutdown("SIGINT") }
        server.onSignal(SIGHUP) { [unowned self] in reload(variables) }
        let rejoin = Rejoin(dataDir: settings.dataDir, logger: logger)
        let member = ClusterMemberRecord(dataDir: settings.dataDir)
        let clock = server.clock
        let store = self.store!
        let progressRecord = SlaveProgressRecord(dataDir: settings.dataDir)
        // Only a store that survives a restart can resume from where it was.
        let persistent = settings.storageType != "memory"
        let applied = context.applied
        let recorder = persistent ? SlaveProgressRecorder(record: progressRecord, applied: applied, current: { membership.current }) : nil
        membership.actions = .init(
            construct: { [logger, context] construction, finished in
                let sources = construction.sources.map { Reconstruction.Source(node: $0.node, request: $0.request) }
                Reconstruction(sources: sources, store: store, clock: clock, logger: logger,
                               minimumSourceVersion: membership.current.version, finished: finished).start(in: context.background)
            },
            catchUp: { [context] source, finished in
                BacklogCatchUp(source: .init(node: source.node, request: source.request), store: store, clock: clock,
                               applied: applied, limits: context.limits, minimumSourceVersion: membership.current.version) { outcome in
                    if case .caughtUp = outcome {
                        context.catchUpsFromBacklog.wrappingIncrement(ordering: .relaxed)
                    } else {
                        context.catchUpsFull.wrappingIncrement(ordering: .relaxed)
                    }
                    finished(outcome)
                }.start(in: context.background)
            },
            clearData: { [logger] in
                // The record described the data being dropped: a crash during the copy must not trust it.
                progressRecord.remove()
                applied.reset()
                do { try store.flushAll() } catch { logger.error("rejoin-as-slave: clearing the old data failed: \(error)") }
            },
            rememberRole: { rejoin.remember($0) },
            recordMembership: { member.write() })
        if !settings.indexServers.isEmpty {
            let stallGuard = context.stallGuard
            stallGuard.onStall = { [membership] now in membership.deliver(.stallDetected(now: now)) }
            stallGuard.onTick = { [membership] now in membership.deliver(.tick(now: now)) }
            stallGuard.start()
        }
        let former = rejoin.recorded()
        let progress = persistent ? progressRecord.read() : nil
        recorder?.start()
        defer { recorder?.stop() }
        let sweeper = TombstoneSweeper(store: store, clock: clock, logger: logger)
        sweeper.start()
        defer { sweeper.stop() }
        membership.start(formerMember: member.exists, formerPartition: former?.partition, formerRole: former?.role, progress: progress)
        logger.info("flared listening on \(listen.describe(port: settings.serverPort)) (\(listen.origin)) as node \(settings.serverName):\(settings.serverPort) with \(workers) worker threads, storage \(settings.storageType) in \(settings.dataDir)")
        try server.run()
        // Workers are gone; now everything else that may touch the store, before it closes.
        finishBackgroundWork(context)
        logger.info("flared stopped; storage closed cleanly")
    }

    /// Stops and waits for every job that uses the store: constructions, catch-ups and reclaims
    /// (`BackgroundWork`), the control plane's effects (they may clear the store), and a pending
    /// delayed flush. The progress recorder and the store itself close after this (`run`'s defers).
    private func finishBackgroundWork(_ context: NodeContext) {
        let running = context.background.running
        if !running.isEmpty { logger.notice("stopping background work: \(running.joined(separator: ", "))") }
        let left = context.background.stopAll(timeout: 30)
        if !left.isEmpty { logger.error("background work still running after 30 s, closing the store anyway: \(left.joined(separator: ", "))") }
        membership.drainEffects()
        context.delayedFlush.stop()
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
