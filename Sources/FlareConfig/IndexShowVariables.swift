extension IndexSettings {
    /// The lines of flarei's `show variables` reply (without `END` and line
    /// terminators), byte-compatible with the original (docs/original-behaviour.md, "Recorded exchanges").
    /// Keys the original does not show (index-db, log-facility) and the keys
    /// added by this implementation are left out.
    public func showVariablesLines() -> [String] {
        var table = VariablesTable(valueColumn: 26)
        table.add("config_path", configPath ?? "")
        table.add("pid_path", pidPath ?? "")
        table.add("daemonize", daemonize)
        table.add("data_dir", dataDir)
        table.add("max_connection", maxConnection)
        table.add("monitor_threshold", monitorThreshold)
        table.add("monitor_interval", monitorInterval)
        table.add("monitor_read_timeout", monitorReadTimeout)
        table.add("net_read_timeout", netReadTimeout)
        table.add("partition_modular_hint", partitionModularHint)
        table.add("partition_modular_virtual", partitionModularVirtual)
        table.add("partition_size", partitionSize)
        table.add("partition_type", partitionType.rawValue)
        table.add("key_hash_algorithm", keyHashAlgorithm.rawValue)
        table.add("server_name", serverName)
        table.add("server_port", serverPort)
        table.add("server_socket", serverSocket ?? "")
        table.add("stack_size", stackSize)
        table.add("thread_pool_size", threadPoolSize)
        return table.lines
    }
}
