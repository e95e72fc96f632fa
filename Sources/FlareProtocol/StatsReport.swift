/// The general `stats` reply, identical in layout on nodes and the index (docs/original-behaviour.md, "stats replies").
public struct StatsReport {
    public var pid: UInt64 = 0
    public var uptime: UInt64 = 0
    public var time: UInt64 = 0
    public var version = ""
    public var rusageUser = "0.000000"
    public var rusageSystem = "0.000000"
    public var currItems: UInt64 = 0
    public var totalItems: UInt64 = 0
    public var bytes: UInt64 = 0
    public var currConnections: UInt64 = 0
    public var totalConnections: UInt64 = 0
    /// cmd_get … touch_misses, in the wire order.
    public var commandCounters: [(String, UInt64)] = []
    public var bytesRead: UInt64 = 0
    public var bytesWritten: UInt64 = 0
    public var threads: UInt64 = 0
    public var nodeMapVersion: UInt64 = 0

    public init() {}

    /// The names of the command counters, in the order they appear on the wire.
    public static let commandCounterNames = [
        "cmd_get", "cmd_set", "get_hits", "get_misses", "delete_hits", "delete_misses",
        "incr_hits", "incr_misses", "decr_hits", "decr_misses", "cas_hits", "cas_misses",
        "cas_badval", "touch_hits", "touch_misses",
    ]

    public func write(to output: ReplyBuffer) {
        output.appendStat("pid", pid)
        output.appendStat("uptime", uptime)
        output.appendStat("time", time)
        output.appendStat("version", version)
        output.appendStat("pointer_size", UInt64(MemoryLayout<Int>.size * 8))
        output.appendStat("rusage_user", rusageUser)
        output.appendStat("rusage_system", rusageSystem)
        output.appendStat("curr_items", currItems)
        output.appendStat("total_items", totalItems)
        output.appendStat("bytes", bytes)
        output.appendStat("curr_connections", currConnections)
        output.appendStat("total_connections", totalConnections)
        output.appendStat("connection_structures", 0)
        let counters = Dictionary(commandCounters, uniquingKeysWith: { a, _ in a })
        for name in StatsReport.commandCounterNames { output.appendStat(name, counters[name] ?? 0) }
        output.appendStat("evictions", 0)
        output.appendStat("bytes_read", bytesRead)
        output.appendStat("bytes_written", bytesWritten)
        output.appendStat("limit_maxbytes", 0)
        output.appendStat("threads", threads)
        output.appendStat("pool_threads", 0)
        output.appendStat("node_map_version", nodeMapVersion)
        output.append("END\r\n")
    }
}

/// One entry of `stats threads` (docs/original-behaviour.md, "stats replies"): the eight lines flare-tools parse.
public struct ThreadStat {
    public var id: Int
    public var type: Int
    public var peer: String
    public var op: String
    public var uptime: Int64
    public var state: String
    public var queue: Int
    public var behind: Int64

    public init(id: Int, type: Int, peer: String, op: String, uptime: Int64, state: String, queue: Int = 0, behind: Int64 = 0) {
        self.id = id
        self.type = type
        self.peer = peer
        self.op = op
        self.uptime = uptime
        self.state = state
        self.queue = queue
        self.behind = behind
    }

    public func write(to output: ReplyBuffer) {
        let id = String(self.id)
        output.append("STAT \(id):type \(type)\r\n")
        output.append("STAT \(id):peer \(peer)\r\n")
        output.append("STAT \(id):op \(op)\r\n")
        output.append("STAT \(id):uptime \(uptime)\r\n")
        output.append("STAT \(id):state \(state)\r\n")
        output.append("STAT \(id):info \r\n")
        output.append("STAT \(id):queue \(queue)\r\n")
        output.append("STAT \(id):behind \(behind)\r\n")
    }
}

/// Splitting input into lines for the line-oriented index protocol.
public enum LineSplitter {
    public enum Result {
        case line(UnsafeRawBufferPointer, consumed: Int)
        case needMore
        case tooLong
    }

    /// The first line of `input` without its line ending (a bare LF is accepted).
    public static func firstLine(_ input: UnsafeRawBufferPointer, maxLength: Int) -> Result {
        guard let newline = input.firstIndex(of: 0x0A) else {
            return input.count >= maxLength ? .tooLong : .needMore
        }
        let end = newline > 0 && input[newline - 1] == 0x0D ? newline - 1 : newline
        return .line(UnsafeRawBufferPointer(rebasing: input[..<end]), consumed: newline + 1)
    }
}
