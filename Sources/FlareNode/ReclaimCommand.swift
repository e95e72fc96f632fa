#if canImport(Glibc)
import Glibc
#endif
import FlareCluster
import FlareNet
import FlareProtocol
import FlareStorage

/// `reclaim [<partition> <partition-count>]`: the operator's command to drop the copies of keys
/// that moved to a partition added since (flare-admin reclaim). After an activation the old
/// partition's nodes keep those copies, as the original does; routing never reads them again
/// (a key's reads and writes go to the owner under the present partition count), they only take
/// space and show in item counts.
///
/// Without arguments, on an active master: drops them here, then sends `reclaim <p> <n>` to each
/// active slave of its partition, and answers one `RECLAIMED <node> <items>` line per
/// node and `END`; a slave that failed turns the `END` into `SERVER_ERROR reclaim failed on …`.
/// Without arguments on an active slave, or with arguments on an active master or slave of
/// exactly that partition and count (what the master sends): here only. The count must be this
/// node's own, so a node whose map is behind or ahead refuses instead of deleting what it still owns.
/// Keys only ever move into a new partition, so a reclaim under `n` partitions never deletes a
/// key the node owns under a later count either.
///
/// The walk runs as a background job of its own (one per request, `BackgroundWork`, which shutdown
/// stops between batches and waits for): the worker only waits for its answer.
enum ReclaimCommand {
    struct Target {
        let partition: Int
        let count: Int
        let slaves: [NodeEntry]
    }

    /// What this node may reclaim, or the error line.
    static func target(view: ClusterView, partition: Int?, count: Int?) -> Result<Target, ReclaimRefusal> {
        guard let me = view.me, me.state == .active, me.role == .master || me.role == .slave, me.partition >= 0 else {
            return .failure(.init("SERVER_ERROR reclaim needs an active master or slave (this node is \(view.me.map { "\($0.role.name)/\($0.state.name)" } ?? "not in its node map"))"))
        }
        let active = view.layout.activeCount
        guard me.partition < active else {
            return .failure(.init("SERVER_ERROR partition \(me.partition) is not active yet"))
        }
        if let partition, let count, partition != me.partition || count != active {
            return .failure(.init("SERVER_ERROR this node serves partition \(me.partition) of \(active), not \(partition) of \(count)"))
        }
        let forward = partition == nil && me.role == .master
        // A preparing slave copies only its partition's keys (nothing to drop); a down one is rebuilt.
        let slaves = forward ? view.map.entries.filter { $0.role == .slave && $0.partition == me.partition && $0.state == .active } : []
        return .success(Target(partition: me.partition, count: active, slaves: slaves))
    }

    /// Deletes every item whose key belongs to another partition under `count`; returns how many.
    /// Stops between batches once `stopping()` says so (the node shuts down): the keys left stay
    /// unread, and a later `reclaim` removes them.
    static func dropMovedItems(store: ItemStore, resolver: KeyResolver, partition: Int, count: Int,
                               clock: ServerClock, stopping: () -> Bool = { false }) throws(StorageError) -> Int {
        var moved: [[UInt8]] = []
        var removed = 0
        let cursor = try store.makeCursor()
        var more = true
        while more && !stopping() {
            moved.removeAll(keepingCapacity: true)
            // Small batches: the cursor holds the engine's lock only while it reads one.
            more = try cursor.next(maxItems: 512, now: clock.now) { key, _, _ in
                if resolver.partition(of: key, count: count) != partition { moved.append(Array(key)) }
            }
            for key in moved where try delete(key, from: store, now: clock.now) { removed += 1 }
        }
        return removed
    }

    private static func delete(_ key: [UInt8], from store: ItemStore, now: Int64) throws(StorageError) -> Bool {
        let outcome: Result<DeleteOutcome, StorageError> = key.withUnsafeBytes { bytes in
            do throws(StorageError) { return .success(try store.delete(bytes, now: now)) } catch { return .failure(error) }
        }
        if case .deleted = try outcome.get() { return true }
        return false
    }

    /// Asks `slave` to reclaim `partition` of `count`; its `RECLAIMED` line, or why not.
    static func forward(to slave: NodeEntry, partition: Int, count: Int) -> Result<String, ReclaimRefusal> {
        // A slave's walk may take as long as the master's: allow ten minutes.
        guard let fd = LineClient.connect(host: slave.name, port: slave.port, timeoutMilliseconds: 600_000) else {
            return .failure(.init("\(slave.nodeKey) (unreachable)"))
        }
        defer { close(fd) }
        guard LineClient.send(fd, "reclaim \(partition) \(count)\r\n") else { return .failure(.init("\(slave.nodeKey) (connection lost)")) }
        var result: String?
        while let line = LineClient.readLine(fd) {
            if line == "END" { return result.map { .success($0) } ?? .failure(.init("\(slave.nodeKey) (no RECLAIMED line)")) }
            if line.hasPrefix("RECLAIMED ") { result = line; continue }
            return .failure(.init("\(slave.nodeKey) (\(line))"))
        }
        return .failure(.init("\(slave.nodeKey) (no answer)"))
    }
}

struct ReclaimRefusal: Error {
    let text: String
    init(_ text: String) { self.text = text }
}

extension NodeHandler {
    func startReclaim(_ request: Request, _ connection: Connection) -> Next {
        let output = connection.output
        var arguments = request.arguments
        var partition: Int?
        var count: Int?
        if !arguments.isAtEnd {
            guard let p = arguments.next().flatMap(Decimal.int64), p >= 0, p < Int64(Int32.max),
                  let n = arguments.next().flatMap(Decimal.int64), n > p, n <= Int64(Int32.max), arguments.isAtEnd else {
                output.append("CLIENT_ERROR usage: reclaim [<partition> <partition-count>]\r\n")
                return .next
            }
            partition = Int(p)
            count = Int(n)
        }
        let view = self.view
        let target: ReclaimCommand.Target
        switch ReclaimCommand.target(view: view, partition: partition, count: count) {
        case .failure(let refusal):
            output.append(refusal.text + "\r\n")
            return .next
        case .success(let chosen): target = chosen
        }
        let store = self.store, clock = self.clock, worker = self.worker, logger = context.logger
        let selfKey = view.selfKey, resolver = view.resolver
        let started = context.background.spawn("reclaim of partition \(target.partition)") { job in
            var lines: [String] = []
            var failures: [String] = []
            do {
                let removed = try ReclaimCommand.dropMovedItems(store: store, resolver: resolver, partition: target.partition,
                                                                count: target.count, clock: clock, stopping: { job.isStopping })
                logger.notice("reclaim: dropped \(removed) items that moved out of partition \(target.partition) (now \(target.count) partitions)")
                lines.append("RECLAIMED \(selfKey) \(removed)")
            } catch {
                logger.error("reclaim: stopped: \(error)")
                failures.append("\(selfKey) (\(error))")
            }
            if failures.isEmpty {
                for slave in target.slaves {
                    switch ReclaimCommand.forward(to: slave, partition: target.partition, count: target.count) {
                    case .success(let line): lines.append(line)
                    case .failure(let refusal): failures.append(refusal.text)
                    }
                }
            }
            let reply = lines.map { $0 + "\r\n" }.joined()
                + (failures.isEmpty ? "END\r\n" : "SERVER_ERROR reclaim failed on \(failures.joined(separator: ", "))\r\n")
            worker.post {
                connection.output.append(reply)
                connection.replyArrived()
            }
        }
        guard started else {
            output.append("SERVER_ERROR reclaim failed on \(selfKey) (shutting down)\r\n")
            return .next
        }
        connection.awaitReply()
        return .awaiting
    }
}
