import FlareCluster
import FlareNet
import FlareProtocol

/// Copying a write executed here to the partition's other nodes (docs/original-behaviour.md, "Node server commands"):
/// the resulting item, not the command, so every replica ends with the same flags, expiry, data and
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
        let waits = !request.noreply && (request.replication == .sync ||
                    request.replication == .configured && context.synchronousReplication.load(ordering: .relaxed))
        guard waits else {
            distribute(copy, key: key, version: version, to: targets, waiting: nil)
            return .next
        }
        let gather = ReplicaGather()
        let token = nextReplicaToken
        distribute(copy, key: key, version: version, to: targets, waiting: (gather, token))
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
        gather.reply = Array(UnsafeRawBufferPointer(rebasing: output.pending[replyMark...]))
        output.truncate(toPending: replyMark)
        gather.connection = connection
        gather.failureReply = failureReply
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
        guard let connection = gather.connection else { return }
        let output = connection.output
        if gather.failedNodes.isEmpty {
            gather.reply.withUnsafeBytes { output.append($0) }
        } else {
            replicationFailed(gather.failedNodes, output, gather.failureReply)
        }
        connection.replyArrived()
    }

    /// Copies the item `key` as this node now holds it (or its tombstone at `version` if it is
    /// gone), asynchronously: for writes that change an item as a side effect of a read, like
    /// `gat`'s new expiry, which must reach the slaves as a touch would.
    /// `request` is the write's, for its proxy path; nil for a read that carries none (a gat
    /// answered while assembling a multi-get).
    func replicateReadBack(key: UnsafeRawBufferPointer, of request: Request?, version: UInt64) {
        if let request, occurrencesOfSelf(in: request) >= 2 { return }
        let targets = view.replicaTargets(for: key)
        guard !targets.isEmpty || recordsBacklog else { return }
        let copy = replicaScratch
        copy.removeAll()
        if let request {
            ForwardedRequest.appendPrefix(request, selfKey: view.selfKey, stamp: view.version, to: copy)
        } else {
            copy.append("<")
            copy.append(view.selfKey)
            copy.append("@")
            copy.appendDecimal(view.version)
            copy.append(">")
        }
        let range = appendReadBack(key: key, version: version, to: copy)
        distribute(copy, key: range, version: version, to: targets, waiting: nil)
    }

    /// Hands the copy in `copy` to the backlog and to each target's stream; `waiting` names the
    /// sync write that waits for the active slaves' confirmations, and collects the ones that
    /// cannot come.
    private func distribute(_ copy: ReplyBuffer, key: Range<Int>, version: UInt64, to targets: [ReplicaTarget],
                            waiting: (gather: ReplicaGather, token: UInt64)?) {
        // One copy of the bytes, shared by the backlog and every stream.
        let bytes = Array(copy.pending)
        if recordsBacklog {
            // The same array the streams get: recording costs no copy of the bytes.
            context.backlog.append(.init(bytes: bytes, version: version, appendedAt: ServerClock.monotonicMilliseconds(),
                                         keyStart: UInt32(key.lowerBound), keyLength: UInt32(key.count)),
                                   worker: worker.index)
        }
        for target in targets {
            let waited = waiting != nil && target.waitFor
            guard let stream = streams.first(where: { $0.nodeKey == target.node.nodeKey }) else {
                // This worker's map is older than the newest one, which no longer copies there.
                if waited { waiting?.gather.failedNodes.append(target.node.nodeKey) }
                continue
            }
            if waited { waiting?.gather.outstanding += 1 }
            stream.send(bytes, waiter: waited ? ReplicaWaiter(worker: worker, token: waiting!.token) : nil, from: worker)
        }
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
        if request.command == .delete { return appendTombstone(key: request.key, version: version, to: out) }
        return appendReadBack(key: request.key, version: version, to: out)
    }

    /// `set` with the item `key` as the store holds it now, or, if it vanished since the write
    /// of `version`, that write's tombstone.
    private func appendReadBack(key: UnsafeRawBufferPointer, version: UInt64, to out: ReplyBuffer) -> Range<Int> {
        let keyStart = out.pendingCount + 4
        let found = try? store.get(key, now: clock.now) { header, value -> Bool in
            out.append("set ")
            out.append(key)
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
        if found == true { return keyStart..<(keyStart + key.count) }
        return appendTombstone(key: key, version: version, to: out)
    }

    /// `delete <key> 0 <version>`: a versioned deletion the receiver orders like any copy.
    private func appendTombstone(key: UnsafeRawBufferPointer, version: UInt64, to out: ReplyBuffer) -> Range<Int> {
        let keyStart = out.pendingCount + 7
        out.append("delete ")
        out.append(key)
        out.append(" 0 ")
        out.appendDecimal(version)
        out.appendCRLF()
        return keyStart..<(keyStart + key.count)
    }
}

/// The confirmations a synchronous write still waits for. Worker thread only.
final class ReplicaGather {
    var outstanding = 0
    var failedNodes: [String] = []
    /// The write's own reply, held back, and the connection it goes to once all have answered
    /// (no closure: one allocation less per sync write).
    var reply: [UInt8] = []
    var connection: Connection?
    var failureReply: ((ReplyBuffer, String) -> Void)?
}
