import FlareCluster
import FlareNet
import FlareProtocol
import FlareStorage

/// Forwarding requests for keys this node does not own (docs/routing.md): writes to the
/// partition's master, reads to a node of the partition. A forwarded request holds its place in
/// the client's reply stream (`Connection.openSlot`) and the connection goes on with the requests
/// behind it, so a pipelining client has many requests in flight, across any number of owners,
/// and still gets its replies in request order.
extension NodeHandler: ReplyRelay {
    /// Passes a forwarded write's or a relayed read's reply on into its client's slot.
    func relay(_ result: Result<PeerReply, PeerFailure>, _ relay: Relay) {
        let connection = relay.connection
        switch (relay.kind, result) {
        case (.write, .success(let reply)):
            connection.fill(relay.slot, with: reply.bytes)
        case (.write, .failure(let failure)):
            context.logger.warning("\(failure)")
            connection.fill(relay.slot) { $0.append("SERVER_ERROR proxy error\r\n") }
        case (.retrieval(let keyCount), .success(let reply)) where reply.values > 0 || ReplyFraming.isEnd(reply.bytes):
            let hits = UInt64(reply.values)
            counters.add(NodeCounter.getHits, hits)
            counters.add(NodeCounter.getMisses, keyCount - min(hits, keyCount))
            connection.fill(relay.slot, with: reply.bytes)
        case (.retrieval(let keyCount), .success(let reply)):
            context.logger.warning("a relayed read got \(String(decoding: reply.bytes.prefix(200), as: UTF8.self))")
            counters.add(NodeCounter.getMisses, keyCount)
            connection.fill(relay.slot) { $0.append("END\r\n") }
        case (.retrieval(let keyCount), .failure(let failure)):
            context.logger.warning("\(failure)")
            counters.add(NodeCounter.getMisses, keyCount)
            connection.fill(relay.slot) { $0.append("END\r\n") }
        }
    }

    /// A forwarded request must not come back to a node it already passed through.
    func isLoop(_ request: Request) -> Bool {
        ProxyPath.count(of: view.selfKey, in: request.proxyPath) > 0
    }

    /// Sends a single-key write to its owner and relays the reply verbatim.
    func forwardWrite(_ request: Request, to owner: Peer, _ connection: Connection) -> Next {
        let output = connection.output
        guard !isLoop(request), owner.position >= 0 else {
            if !request.noreply { output.append("SERVER_ERROR proxy error\r\n") }
            return .next
        }
        let link = peerPool.link(to: owner, in: view, lane: peerPool.lane(for: connection))
        ForwardedRequest.appendWrite(request, selfKey: view.selfKey, now: clock.now, to: link.output)
        if request.noreply {
            link.sendWithoutReply()
            return .next
        }
        link.expect(request.command == .gat || request.command == .gats ? .values : .line,
                    relay: Relay(connection: connection, slot: connection.openSlot(), kind: .write))
        return .next
    }

    enum RetrievalPlan {
        /// Every key is served here.
        case local
        /// A get/gets whose keys all live on one other node (a single key, or one partition):
        /// relayed as it is.
        case relay(Peer)
        /// Keys here and there, or on several nodes.
        case gather
    }

    /// Where a get/gets/gat/gats is served, from one routing pass over its keys.
    func planRetrieval(_ request: Request) -> RetrievalPlan {
        let touching = request.command == .gat || request.command == .gats
        var keys = request.keys
        var local = false
        var remote: Peer?
        var oneRemote = true
        while let key = keys.next() {
            switch touching ? view.writeOwner(key) : view.readOwner(key, using: &readerRandom) {
            case .local: local = true
            case .forward(let peer):
                if let remote { oneRemote = oneRemote && remote.position == peer.position } else { remote = peer }
            case .noPartition, .unavailable: oneRemote = false
            }
            if local && (remote != nil || !oneRemote) { return .gather }
        }
        if oneRemote && remote == nil { return .local }
        if !touching, oneRemote, let remote, remote.position >= 0, !isLoop(request) { return .relay(remote) }
        return .gather
    }

    /// get/gets/gat/gats whose keys are not all local: each owner gets one request with its keys,
    /// all sent at once; the reply is assembled in the client's key order when all have answered.
    func retrieveAcrossNodes(_ request: Request, _ connection: Connection) -> Next {
        let touching = request.command == .gat || request.command == .gats
        let expire = Expiry.absolute(request.exptime, now: clock.now)
        let gather = MultiKeyGather(command: request.command, expire: expire)
        var keys = request.keys
        while let key = keys.next() {
            let owner = touching ? view.writeOwner(key) : view.readOwner(key, using: &readerRandom)
            switch owner {
            case .local: gather.addLocal(key)
            case .forward(let peer):
                if !isLoop(request), peer.position >= 0 {
                    gather.addRemote(key, peer: peer)
                } else {
                    gather.addMiss(key)
                }
            case .noPartition, .unavailable: gather.addMiss(key)
            }
        }
        guard gather.hasRemote else {
            finishRetrieval(gather, connection.output)
            return .next
        }
        let logger = context.logger
        let slot = connection.openSlot()
        let lane = peerPool.lane(for: connection)
        for (index, destination) in gather.destinations.enumerated() {
            let link = peerPool.link(to: destination.peer, in: view, lane: lane)
            gather.appendRequest(for: index, selfKey: view.selfKey, to: link.output)
            link.expect(.values) { [self] result in
                switch result {
                case .success(let reply): gather.received(reply.bytes, for: index)
                case .failure(let failure):
                    logger.warning("\(failure)")
                    gather.failed(index)
                }
                if gather.isComplete {
                    connection.fill(slot) { finishRetrieval(gather, $0) }
                }
            }
        }
        return .next
    }

    /// Sends a get/gets whose keys all live on `owner` as one request and passes its reply on
    /// verbatim: no per-key bookkeeping. A failed owner or an error reply reads as misses, as
    /// flare reports read failures.
    func relayRetrieval(_ request: Request, to owner: Peer, _ connection: Connection) -> Next {
        let link = peerPool.link(to: owner, in: view, lane: peerPool.lane(for: connection))
        let out = link.output
        out.append(request.command.name)
        var keys = request.keys
        var keyCount: UInt64 = 0
        while let key = keys.next() {
            out.append(byte: 0x20)
            out.append(key)
            keyCount += 1
        }
        out.appendCRLF()
        counters.add(NodeCounter.cmdGet, keyCount)
        link.expect(.values, relay: Relay(connection: connection, slot: connection.openSlot(), kind: .retrieval(keys: keyCount)))
        return .next
    }

    /// Writes the assembled hits (local ones read now) in key order, then `END`.
    private func finishRetrieval(_ gather: MultiKeyGather, _ output: ReplyBuffer) {
        let now = clock.now
        let withCas = gather.command == .gets || gather.command == .gats
        let touching = gather.command == .gat || gather.command == .gats
        gather.forEachSlot { slot in
            counters.add(NodeCounter.cmdGet)
            switch slot {
            case .local(let key):
                let hit: Bool?
                if touching {
                    var replaced = ReplacedItem()
                    let version: UInt64? = (try? store.touch(key, expire: gather.expire, now: now,
                                                             replaced: &replaced) { header, value in
                        output.appendValue(key: key, flags: header.flags, value: value, cas: withCas ? header.version : nil)
                        return header.version
                    }) ?? nil
                    if let version {
                        carryReads(replaced, to: version, .touch)
                        // The new expiry is a write: the slaves get it as they would a touch's.
                        if view.mayReplicate || recordsBacklog { replicateReadBack(key: key, of: nil, version: version) }
                    }
                    hit = version.map { _ in true }
                } else {
                    hit = try? store.get(key, now: now) { header, value in
                        output.appendValue(key: key, flags: header.flags, value: value, cas: withCas ? header.version : nil)
                        reads.record(header.version, now: now)
                        return true
                    }
                }
                counters.add(hit == true ? NodeCounter.getHits : NodeCounter.getMisses)
            case .remote(let block):
                if let block {
                    output.append(block)
                    counters.add(NodeCounter.getHits)
                } else {
                    counters.add(NodeCounter.getMisses)
                }
            }
        }
        output.append("END\r\n")
    }
}
