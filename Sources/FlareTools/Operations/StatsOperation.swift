import Dispatch
import Synchronization

/// `stats` / `flare-stats`: per round, `stats nodes` and `stats threads` on the index, `stats threads
/// slave` on each active master (a slave's replication lag), `stats` on
/// every node (in parallel), then the table. Repeats `count` times, `wait` seconds apart.
public struct StatsOperation {
    public var showQps: Bool
    public var wait: Int
    public var count: Int
    public var delimiter: String
    /// Node keys to show; empty shows every node.
    public var nodeFilter: [String]

    public init(showQps: Bool = false, wait: Int = 1, count: Int = 1, delimiter: String = " ", nodeFilter: [String] = []) {
        self.showQps = showQps
        self.wait = wait
        self.count = count
        self.delimiter = delimiter
        self.nodeFilter = nodeFilter
    }

    public func run(_ session: ToolSession) throws -> ToolStatus {
        guard count > 0 else { return .success }
        var tracker = QpsTracker()
        try session.withIndex { index in
            for round in 0..<count {
                if round > 0 { session.console.pause(Double(wait)) }
                let map = try index.statsNodes()
                let threads = try index.statsThreads().byPeer
                let nodes = map.statsOrder
                let samples = Self.sample(nodes.map(\.endpoint), timeouts: session.timeouts)
                let streams = Self.replicationThreads(of: nodes, timeouts: session.timeouts)
                var rows: [[TableCell]] = []
                for (node, sample) in zip(nodes, samples) {
                    // Every node is sampled so qps stays continuous; the filter only hides rows.
                    let qps = showQps ? tracker.rates(for: node.key, sample: sample) : nil
                    guard nodeFilter.isEmpty || nodeFilter.contains(node.key) else { continue }
                    // The original crashes when the index has no thread for a node; show `-`.
                    let behind = Self.behind(index: threads[node.key]?["behind"], replication: streams[node.key]?["behind"])
                    rows.append(StatsTable.row(node: node, sample: sample, behind: behind, qps: qps))
                }
                session.console.say(StatsTable.render(rows: rows, withQps: showQps, delimiter: delimiter))
            }
        }
        return .success
    }

    /// The `behind` column: the index's delay in reaching the node (its monitor thread), or, for a
    /// slave, the age of the oldest copy its master has not had confirmed, whichever is larger.
    static func behind(index: String?, replication: String?) -> String {
        guard let replication, let lag = Int(replication) else { return index ?? "-" }
        guard let index, let delay = Int(index) else { return replication }
        return String(max(delay, lag))
    }

    /// Each active master's replication threads (`stats threads slave`), by destination node key.
    static func replicationThreads(of nodes: [NodeStat], timeouts: Timeouts) -> [String: ThreadStat] {
        var byDestination: [String: ThreadStat] = [:]
        for master in nodes where master.role == "master" && master.state == "active" {
            guard let connection = try? FlareConnection(to: master.endpoint, peer: .node, connectTimeout: timeouts.connect,
                                                        requestTimeout: timeouts.request) else { continue }
            let client = FlareClient(connection: connection)
            if let table = try? client.statsThreads(filter: "slave") {
                byDestination.merge(table.byPeer) { _, new in new }
            }
            client.close()
        }
        return byDestination
    }

    /// `stats` of every node at once; a node that cannot be asked yields a sample without stats.
    static func sample(_ endpoints: [Endpoint], timeouts: Timeouts) -> [NodeSample] {
        let results = SampleSlots(count: endpoints.count)
        let group = DispatchGroup()
        for (slot, endpoint) in endpoints.enumerated() {
            DispatchQueue.global().async(group: group) {
                var stats: ServerStats?
                if let connection = try? FlareConnection(to: endpoint, peer: .node, connectTimeout: timeouts.connect,
                                                         requestTimeout: timeouts.request) {
                    let client = FlareClient(connection: connection)
                    stats = try? client.stats()
                    client.close()
                }
                results.store(NodeSample(stats: stats, time: MonotonicClock.now()), at: slot)
            }
        }
        group.wait()
        return results.all
    }
}

/// Per-node result slots filled concurrently by the sampling tasks.
private final class SampleSlots: Sendable {
    private let samples: Mutex<[NodeSample?]>

    init(count: Int) {
        samples = Mutex(Array(repeating: nil, count: count))
    }

    func store(_ sample: NodeSample, at slot: Int) {
        samples.withLock { $0[slot] = sample }
    }

    var all: [NodeSample] {
        samples.withLock { $0.map { $0 ?? NodeSample(stats: nil, time: MonotonicClock.now()) } }
    }
}
