extension NodeSettings {
    /// Re-reads the config file at `path` for SIGHUP (docs/original-behaviour.md, "Configuration keys").
    ///
    /// Values typed on the command line at start-up still win over the file.
    /// Only dynamic keys are taken over; the others keep their start-up value
    /// until restart. The whole file is checked first: any error aborts the
    /// reload and the caller keeps its current settings.
    ///
    /// - Returns: the settings to use from now on and the changes, in schema
    ///   order, for the log.
    public func reloaded(from path: String) throws(ConfigError) -> (NodeSettings, [SettingChange]) {
        let file = try ConfigFileReader.read(path: path, keys: NodeKey.self)
        let resolver = try SettingsResolver(file: file, commandLine: commandLineValues)
        let launch = LaunchOptions(configPath: configPath, pidPath: pidPath, logToStderr: logToStderr,
                                   commandLineValues: commandLineValues)
        let fresh = try NodeSettings(resolving: resolver, launch: launch)
        return Self.reloadableSettings.reload(self, from: fresh)
    }

    /// The properties behind flared's dynamic keys; the three index-server
    /// keys all feed `indexServers`.
    static var reloadableSettings: [ReloadableSetting<NodeSettings>] {
        [
            ReloadableSetting(NodeKey.indexServers, \.indexServers) { $0.map(\.description).joined(separator: ",") },
            ReloadableSetting(NodeKey.logFacility, \.logFacility),
            ReloadableSetting(NodeKey.maxConnection, \.maxConnection),
            ReloadableSetting(NodeKey.noreplyWindowLimit, \.noreplyWindowLimit),
            ReloadableSetting(NodeKey.netReadTimeout, \.netReadTimeout),
            ReloadableSetting(NodeKey.reconstructionInterval, \.reconstructionInterval),
            ReloadableSetting(NodeKey.reconstructionBwlimit, \.reconstructionBwlimit),
            ReloadableSetting(NodeKey.replicationType, \.replicationType),
            ReloadableSetting(NodeKey.maxTotalThreadQueue, \.maxTotalThreadQueue),
            ReloadableSetting(NodeKey.timeWatcherEnabled, \.timeWatcherEnabled),
            ReloadableSetting(NodeKey.timeWatcherPollingIntervalMsec, \.timeWatcherPollingIntervalMsec),
            ReloadableSetting(NodeKey.storageAccessWatchThresholdWarnMsec, \.storageAccessWatchThresholdWarnMsec),
            ReloadableSetting(NodeKey.storageAccessWatchThresholdPingNgMsec, \.storageAccessWatchThresholdPingNgMsec),
            ReloadableSetting(NodeKey.clusterReplication, \.clusterReplication),
            ReloadableSetting(NodeKey.clusterReplicationServerName, \.clusterReplicationServerName),
            ReloadableSetting(NodeKey.clusterReplicationServerPort, \.clusterReplicationServerPort),
            ReloadableSetting(NodeKey.clusterReplicationMode, \.clusterReplicationMode),
            ReloadableSetting(NodeKey.logLevel, \.logLevel),
        ]
    }
}
