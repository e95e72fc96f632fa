import FlareNet
import FlareProtocol

/// `backlog <since-version> <partition> <partition-count>`: a slave that applied its master's
/// copies up to `since-version` asks for those it may lack. The answer is every backlogged copy of
/// the partition with a version above `since-version - 1 s`, exactly as the stream sent it
/// (`<master>set <key> <flags> <expire> <bytes> <version>` + data, or `<master>delete <key> 0
/// <version>`), then `END`; or `SERVER_ERROR backlog does not reach <version>` when copies above
/// the floor may be missing (evicted, or from before this node became master of the partition).
final class BacklogReplay {
    private let entries: [ReplicationBacklog.Entry]
    private var next = 0

    init(entries: [ReplicationBacklog.Entry]) { self.entries = entries }

    /// Appends up to about 256 KiB; false when everything was sent.
    func nextBatch(into output: ReplyBuffer) -> Bool {
        let stop = output.pendingCount + 256 << 10
        while next < entries.count && output.pendingCount < stop {
            entries[next].bytes.withUnsafeBytes { output.append($0) }
            next += 1
        }
        return next < entries.count
    }
}

extension NodeHandler {
    func startBacklogReplay(_ request: Request, _ connection: Connection) -> Next {
        let output = connection.output
        var arguments = request.arguments
        guard let since = arguments.next().flatMap(Decimal.uint64),
              let partition = arguments.next().flatMap(Decimal.int32), partition >= 0,
              let count = arguments.next().flatMap(Decimal.int32), count > partition, arguments.isAtEnd else {
            output.append("CLIENT_ERROR usage: backlog <since-version> <partition> <partition-count>\r\n")
            return .next
        }
        let resolver = view.resolver
        // Runs on this worker: a copy of references, filtered; no store access and no waiting.
        let answer = context.backlog.entries(since: since, partition: Int(partition)) { entry in
            entry.key.withUnsafeBytes { resolver.partition(of: $0, count: Int(count)) == Int(partition) }
        }
        switch answer {
        case .failure(let notReached):
            if notReached.version == .max {
                output.append("SERVER_ERROR no backlog for partition \(partition) on this node\r\n")
            } else {
                output.append("SERVER_ERROR backlog does not reach \(since > ReplicationBacklog.margin ? since - ReplicationBacklog.margin : 0): copies up to \(notReached.version) may be missing\r\n")
            }
            return .next
        case .success(let entries):
            context.logger.info("backlog: sending \(entries.count) copies of partition \(partition) above version \(since) - margin")
            connection.handlerState = BacklogReplay(entries: entries)
            resumeBacklogReplay(connection)
            return .streaming
        }
    }

    func resumeBacklogReplay(_ connection: Connection) {
        guard let replay = connection.handlerState as? BacklogReplay else { return }
        if replay.nextBatch(into: connection.output) {
            connection.stream()
            return
        }
        connection.output.append("END\r\n")
        connection.handlerState = nil
        connection.endStream()
    }
}
