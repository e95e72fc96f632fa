extension IndexSettings {
    /// Re-reads the config file at `path` for SIGHUP (docs/original-behaviour.md, "Configuration keys").
    ///
    /// Values typed on the command line at start-up still win over the file.
    /// Only dynamic keys are taken over; the others keep their start-up value
    /// until restart. The whole file is checked first: any error aborts the
    /// reload and the caller keeps its current settings.
    ///
    /// - Returns: the settings to use from now on and the changes, in schema
    ///   order, for the log.
    public func reloaded(from path: String) throws(ConfigError) -> (IndexSettings, [SettingChange]) {
        let file = try ConfigFileReader.read(path: path, keys: IndexKey.self)
        let resolver = try SettingsResolver(file: file, commandLine: commandLineValues)
        let launch = LaunchOptions(configPath: configPath, pidPath: pidPath, logToStderr: logToStderr,
                                   commandLineValues: commandLineValues)
        let fresh = try IndexSettings(resolving: resolver, launch: launch)
        return Self.reloadableSettings.reload(self, from: fresh)
    }

    /// The properties behind flarei's dynamic keys.
    static var reloadableSettings: [ReloadableSetting<IndexSettings>] {
        [
            ReloadableSetting(IndexKey.logFacility, \.logFacility),
            ReloadableSetting(IndexKey.maxConnection, \.maxConnection),
            ReloadableSetting(IndexKey.monitorThreshold, \.monitorThreshold),
            ReloadableSetting(IndexKey.monitorInterval, \.monitorInterval),
            ReloadableSetting(IndexKey.monitorReadTimeout, \.monitorReadTimeout),
            ReloadableSetting(IndexKey.netReadTimeout, \.netReadTimeout),
            ReloadableSetting(IndexKey.threadPoolSize, \.threadPoolSize),
            ReloadableSetting(IndexKey.logLevel, \.logLevel),
        ]
    }
}
