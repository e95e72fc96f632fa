extension NodeSettings {
    /// The lines of flared's `show variables` reply (without `END` and line
    /// terminators), byte-compatible with the original (docs/original-behaviour.md, "Recorded exchanges").
    ///
    /// Only the original's variables are listed, in its order, so the reply
    /// matches the recorded one; the MySQL lines of `--enable-mysql-replication`
    /// builds are left out like in the recorded build, and the keys added by
    /// this implementation are not shown.
    public func showVariablesLines() -> [String] {
        var table = VariablesTable(valueColumn: 24)
        table.add("back_log", backLog)
        table.add("config_path", configPath ?? "")
        table.add("pid_path", pidPath ?? "")
        table.add("daemonize", daemonize)
        table.add("data_dir", dataDir)
        // The list form the original prints, with ", " between servers.
        table.add("index_server(s)", indexServers.map(\.description).joined(separator: ", "))
        table.add("max_connection", maxConnection)
        table.add("mutex_slot", mutexSlot)
        table.add("noreply_window_limit", noreplyWindowLimit)
        table.add("net_read_timeout", netReadTimeout)
        table.add("proxy_concurrency", proxyConcurrency)
        table.add("reconstruction_interval", reconstructionInterval)
        table.add("reconstruction_bwlimit", reconstructionBwlimit)
        table.add("replication_type", replicationType.rawValue)
        table.add("server_name", serverName)
        table.add("server_port", serverPort)
        table.add("server_socket", serverSocket ?? "")
        table.add("stack_size", stackSize)
        table.add("storage_ap", storageAp)
        table.add("storage_bucket_size", storageBucketSize)
        table.add("storage_cache_size", storageCacheSize)
        table.add("storage_compress", storageCompress)
        table.add("storage_large", storageLarge)
        table.add("storage_lmemb", storageLmemb)
        table.add("storage_nmemb", storageNmemb)
        table.add("storage_dfunit", storageDfunit)
        table.add("storage_type", storageType)
        table.add("thread_pool_size", threadPoolSize)
        table.add("proxy_prior_netmask", proxyPriorNetmask)
        table.add("max_total_thread_queue", maxTotalThreadQueue)
        table.add("time_watcher_enabled", timeWatcherEnabled)
        table.add("time_watcher_polling_interval_msec", timeWatcherPollingIntervalMsec)
        table.add("storage_access_watch_threshold_warn_msec", storageAccessWatchThresholdWarnMsec)
        table.add("storage_access_watch_threshold_ping_ng_msec", storageAccessWatchThresholdPingNgMsec)
        // The original streams this bool without boolalpha: 0 or 1 on the wire.
        table.add("cluster_replication", clusterReplication ? 1 : 0)
        table.add("cluster_replication_server_name", clusterReplicationServerName)
        table.add("cluster_replication_server_port", clusterReplicationServerPort)
        table.add("cluster_replication_concurrency", clusterReplicationConcurrency)
        table.add("cluster_replication_mode", clusterReplicationMode.rawValue)
        return table.lines
    }
}
