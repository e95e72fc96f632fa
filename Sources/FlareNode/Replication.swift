import FlareCluster
import FlareNet
import FlareProtocol

/// Copying a write executed here to the partition's other nodes (node-server.md §7.3): the
/// resulting item, not the command, so every replica ends with the same flags, expiry, data and
/// version. Asynchronous by default; a synchronous write holds the client's reply until every
/// active slave has confirmed, and answers with an error if one did not.
extension NodeHandler {
    func replicate(_ request: Request, replyMark: Int, _ connection: Connection) -> Next {
        // A write that already passed this node twice is looping between confused maps.
        guard occurrencesOfSelf(in: request) < 2 else { return .next }
        let targets = view.replicaTargets(for: request.key)
        guard !targets.isEmpty else { return .next }
        let copy = replicaScratch
        copy.removeAll()
        guard appendReplica(request, to: copy) else { return .next }

        let waits = !request.noreply && (request.replication == .sync ||
                    request.replication == .configured && context.synchronousReplication.load(ordering: .relaxed))
        let gather = ReplicaGather()
        for target in targets {
            let link = peerPool.link(to: target.node, key: request.key)
            link.output.append(copy.pending)
            if request.noreply {
                link.sendWithoutReply()
                continue
            }
            let waited = waits && target.waitFor
            if waited { gather.outstanding += 1 }
            let logger = context.logger
            let nodeKey = target.node.nodeKey
            link.expect(.line) { result in
                var ok = false
                switch result {
                case .success(let reply):
                    // NOT_STORED: the replica already has this version or a newer one.
                    ok = reply.starts(with: "STORED".utf8) || reply.starts(with: "DELETED".utf8) ||
                        reply.starts(with: "TOUCHED".utf8) || reply.starts(with: "NOT_STORED".utf8) ||
                        reply.starts(with: "NOT_FOUND".utf8)
                    if !ok { logger.warning("replica \(nodeKey) refused a write: \(String(decoding: reply.prefix { $0 != 0x0D && $0 != 0x0A }, as: UTF8.self))") }
                case .failure(let failure):
                    logger.warning("replication: \(failure)")
                }
                guard waited else { return }
                gather.outstanding -= 1
                if !ok { gather.failedNodes.append(nodeKey) }
                if gather.outstanding == 0 { gather.finish?() }
            }
        }
        guard gather.outstanding > 0 else { return .next }
        // Hold the local reply until the slaves confirm.
        let output = connection.output
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
        connection.awaitReply()
        return .awaiting
    }

    private func occurrencesOfSelf(in request: Request) -> Int {
        guard !request.proxyPath.isEmpty else { return 0 }
        return String(decoding: request.proxyPath, as: UTF8.self).split(separator: ",").filter { $0 == view.selfKey }.count
    }

    /// The replica command: `set <key> <flags> <expire> <bytes> <version>` with the stored data,
    /// `delete <key>` or `touch <key> <expire>`, behind this node's proxy prefix. False if the item
    /// vanished in between (its removal replicates on its own).
    private func appendReplica(_ request: Request, to out: ReplyBuffer) -> Bool {
        ForwardedRequest.appendPrefix(request, selfKey: view.selfKey, to: out)
        switch request.command {
        case .delete:
            out.append("delete ")
            out.append(request.key)
        case .touch:
            out.append("touch ")
            out.append(request.key)
            out.append(byte: 0x20)
            ForwardedRequest.appendExpiry(Expiry.absolute(request.exptime, now: clock.now), to: out)
        default:
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
                if request.noreply { out.append(" noreply") }
                out.appendCRLF()
                out.append(value)
                out.appendCRLF()
                return true
            }
            return found == true
        }
        if request.noreply { out.append(" noreply") }
        out.appendCRLF()
        return true
    }
}

/// The confirmations a synchronous write still waits for. Worker thread only.
final class ReplicaGather {
    var outstanding = 0
    var failedNodes: [String] = []
    var finish: (() -> Void)?
}
