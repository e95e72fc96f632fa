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
    func replicate(_ request: Request, version: UInt64, replyMark: Int, _ connection: Connection) -> Next {
        // A write that already passed this node twice is looping between confused maps.
        guard occurrencesOfSelf(in: request) < 2 else { return .next }
        let targets = view.replicaTargets(for: request.key)
        guard !targets.isEmpty else { return .next }
        let copy = replicaScratch
        copy.removeAll()
        appendReplica(request, version: version, to: copy)
        let bytes = Array(copy.pending)

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
                output.append("SERVER_ERROR replication to \(gather.failedNodes.joined(separator: ",")) failed\r\n")
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
                output.append("SERVER_ERROR replication to \(gather.failedNodes.joined(separator: ",")) failed\r\n")
            }
            connection.replyArrived()
        }
        pendingReplicas[token] = gather
        connection.awaitReply()
        return .awaiting
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
        guard !request.proxyPath.isEmpty else { return 0 }
        return String(decoding: request.proxyPath, as: UTF8.self).split(separator: ",").filter { $0 == view.selfKey }.count
    }

    /// The replica command, behind this node's proxy prefix (the receiver checks that prefix's
    /// last node is the master it takes copies from): `set <key> <flags> <expire> <bytes>
    /// <version>` with the item as stored now, or `delete <key> 0 <version>` for a deletion. The
    /// copy always carries a version, so the receiver orders it against every other copy of the
    /// key whatever the order of arrival. An item that vanished since this write (a later delete
    /// or expiry) is sent as a tombstone of this write's version: the later deletion travels on
    /// its own, and the tombstone still tells a waiting write that its copy is superseded there.
    private func appendReplica(_ request: Request, version: UInt64, to out: ReplyBuffer) {
        ForwardedRequest.appendPrefix(request, selfKey: view.selfKey, to: out)
        if request.command != .delete {
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
            if found == true { return }
        }
        out.append("delete ")
        out.append(request.key)
        out.append(" 0 ")
        out.appendDecimal(version)
        out.appendCRLF()
    }
}

/// The confirmations a synchronous write still waits for. Worker thread only.
final class ReplicaGather {
    var outstanding = 0
    var failedNodes: [String] = []
    var finish: (() -> Void)?
}
