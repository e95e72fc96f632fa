import FlareCluster
import FlareNet
import FlareProtocol

/// Copying a write executed here to the partition's other nodes (node-server.md §7.3): the
/// resulting item, not the command, so every replica ends with the same flags, expiry, data and
/// version. Asynchronous by default; a synchronous write holds the client's reply until every
/// active slave has confirmed, and answers with an error if one did not.
extension NodeHandler {
    /// Copies the write this node just executed as master (`version`: the version it gave the
    /// item or the tombstone) to every replica target, through the process-wide stream of each.
    /// `failureReply` writes the error for copies that were not confirmed (default: the text
    /// protocol's SERVER_ERROR), given the nodes that failed.
    func replicate(_ request: Request, version: UInt64, replyMark: Int, _ connection: Connection,
                   failureReply: ((ReplyBuffer, String) -> Void)? = nil) -> Next {
        // A write that already passed this node twice is looping between confused maps.
        guard occurrencesOfSelf(in: request) < 2 else { return .next }
        let targets = view.replicaTargets(for: request.key)
        guard !targets.isEmpty || recordsBacklog else { return .next }
        let copy = replicaScratch
        copy.removeAll()
        let key = appendReplica(request, version: version, to: copy)
        let bytes = Array(copy.pending)
        if recordsBacklog {
            // The same array the streams get: recording costs no copy of the bytes.
            context.backlog.append(.init(bytes: bytes, version: version, appendedAt: ServerClock.monotonicMilliseconds(),
                                         keyStart: UInt32(key.lowerBound), keyLength: UInt32(key.count)),
                                   worker: worker.index)
        }

        let waits = !request.noreply && (request.replication == .sync ||
                    request.replication == .configured && context.synchronousReplication.load(ordering: .relaxed))
        let gather = ReplicaGather()
        let token = nextReplicaToken
        for target in targets {
            let waited = waits && target.waitFor
            guard let stream = streams[target.node.nodeKey] else {
                // This worker's map is older than the newest one, which no longer copies there.
                if waited { gather.failedNodes.append(target.node.nodeKey) }
                continue
            }
            if waited { gather.outstanding += 1 }
            stream.send(bytes, waiter: waited ? ReplicaWaiter(worker: worker, token: token) : nil)
        }
        guard waits else { return .next }
        let output = connection.output
        if gather.outstanding == 0 {
            if !gather.failedNodes.isEmpty {
                output.truncate(toPending: replyMark)
                replicationFailed(gather.failedNodes, output, failureReply)
            }
            return .next
        }
        // Hold the local reply until the slaves confirm; the answers arrive as posted tasks.
        nextReplicaToken &+= 1
        let reply = Array(UnsafeRawBufferPointer(rebasing: output.pending[replyMark...]))
        output.truncate(toPending: replyMark)
        gather.finish = { [unowned gather] in
            if gather.failedNodes.isEmpty {
                reply.withUnsafeBytes { output.append($0) }
            } else {
                self.replicationFailed(gather.failedNodes, output, failureReply)
            }
            connection.replyArrived()
        }
        pendingReplicas[token] = gather
        connection.awaitReply()
        return .awaiting
    }

    private func replicationFailed(_ nodes: [String], _ output: ReplyBuffer, _ failureReply: ((ReplyBuffer, String) -> Void)?) {
        let list = nodes.joined(separator: ",")
        if let failureReply {
            failureReply(output, list)
        } else {
            output.append("SERVER_ERROR replication to \(list) failed\r\n")
        }
    }

    /// Copies a touch done by a get-and-touch (`gat`, `gats`, binary gat) without holding the reply:
    /// the expiry and version reach the slaves like any other write's.
    func replicateTouch(_ key: UnsafeRawBufferPointer, version: UInt64, _ connection: Connection) {
        guard view.mayReplicate || recordsBacklog else { return }
        // The copy is the item as stored now (read back), so the touch's expiry needs no passing.
        var touch = Request(command: .touch, key: key)
        touch.noreply = true
        _ = replicate(touch, version: version, replyMark: connection.output.pendingCount, connection)
    }

    /// A stream's answer for the sync write `token` (posted to this worker: never re-entrant).
    func replicaAnswered(token: UInt64, from nodeKey: String, ok: Bool) {
        guard let gather = pendingReplicas[token] else { return }
        if !ok {
            context.logger.warning("replication: no confirmation from \(nodeKey) for a sync write")
            gather.failedNodes.append(nodeKey)
        }
        gather.outstanding -= 1
        guard gather.outstanding == 0 else { return }
        pendingReplicas[token] = nil
        gather.finish?()
    }

    private func occurrencesOfSelf(in request: Request) -> Int {
        ProxyPath.count(of: view.selfKey, in: request.proxyPath)
    }

    /// The replica command, behind this node's proxy prefix stamped with the map version it acts
    /// under (the receiver checks that the prefix's last node is the master it takes copies from,
    /// in that master's present era): `set <key> <flags> <expire> <bytes>
    /// <version>` with the item as this write stored it (read back after append, prepend,
    /// incr, decr and touch, whose result the request does not hold), or `delete <key> 0
    /// <version>` for a deletion. The copy always carries a version, so the receiver orders it
    /// against every other copy of the key whatever the order of arrival. An item that vanished since this write (a later delete
    /// or expiry) is sent as a tombstone of this write's version: the later deletion travels on
    /// its own, and the tombstone still tells a waiting write that its copy is superseded there.
    /// Returns where the key is in `out`.
    private func appendReplica(_ request: Request, version: UInt64, to out: ReplyBuffer) -> Range<Int> {
        ForwardedRequest.appendPrefix(request, selfKey: view.selfKey, stamp: view.version, to: out)
        switch request.command {
        case .set, .add, .replace, .cas:
            // The write stored exactly the request's item: no need to read it back.
            let keyStart = out.pendingCount + 4
            out.append("set ")
            out.append(request.key)
            out.append(byte: 0x20)
            out.appendDecimal(UInt64(request.flags))
            out.append(byte: 0x20)
            ForwardedRequest.appendExpiry(lastStoredExpire, to: out)
            out.append(byte: 0x20)
            out.appendDecimal(UInt64(request.value.count))
            out.append(byte: 0x20)
            out.appendDecimal(version)
            out.appendCRLF()
            out.append(request.value)
            out.appendCRLF()
            return keyStart..<(keyStart + request.key.count)
        default:
            break
        }
        if request.command != .delete {
            let keyStart = out.pendingCount + 4
            let found = try? store.get(request.key, now: clock.now) { header, value -> Bool in
                out.append("set ")
                out.append(request.key)
                out.append(byte: 0x20)
                out.appendDecimal(UInt64(header.flags))
                out.append(byte: 0x20)
                out.appendDecimal(header.expire)
                out.append(byte: 0x20)
                out.appendDecimal(UInt64(value.count))
                out.append(byte: 0x20)
                out.appendDecimal(header.version)
                out.appendCRLF()
                out.append(value)
                out.appendCRLF()
                return true
            }
            if found == true { return keyStart..<(keyStart + request.key.count) }
        }
        let keyStart = out.pendingCount + 7
        out.append("delete ")
        out.append(request.key)
        out.append(" 0 ")
        out.appendDecimal(version)
        out.appendCRLF()
        return keyStart..<(keyStart + request.key.count)
    }
}

/// The confirmations a synchronous write still waits for. Worker thread only.
final class ReplicaGather {
    var outstanding = 0
    var failedNodes: [String] = []
    var finish: (() -> Void)?
}
