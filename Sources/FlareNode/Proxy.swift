import FlareCluster
import FlareNet
import FlareProtocol
import FlareStorage

/// Forwarding requests for keys this node does not own (docs/routing.md): writes to the
/// partition's master, reads to a node of the partition. A forwarded request holds its place in
/// the client's reply stream (`Connection.openSlot`) and the connection goes on with the requests
/// behind it, so a pipelining client has many requests in flight, across any number of owners,
/// and still gets its replies in request order.
extension NodeHandler {
    /// A forwarded request must not come back to a node it already passed through.
    func isLoop(_ request: Request) -> Bool {
        ProxyPath.count(of: view.selfKey, in: request.proxyPath) > 0
    }

    /// Sends a single-key write to its owner and relays the reply verbatim.
    func forwardWrite(_ request: Request, to nodeKey: String, _ connection: Connection) -> Next {
        let output = connection.output
        guard !isLoop(request), let node = view.map[nodeKey: nodeKey] else {
            if !request.noreply { output.append("SERVER_ERROR proxy error\r\n") }
            return .next
        }
        let link = peerPool.link(to: node, lane: peerPool.lane(for: connection))
        ForwardedRequest.appendWrite(request, selfKey: view.selfKey, now: clock.now, to: link.output)
        if request.noreply {
            link.sendWithoutReply()
            return .next
        }
        let logger = context.logger
        let slot = connection.openSlot()
        link.expect(request.command == .gat || request.command == .gats ? .values : .line) { result in
            switch result {
            case .success(let reply): connection.fill(slot, with: reply)
            case .failure(let failure):
                logger.warning("\(failure)")
                connection.fill(slot) { $0.append("SERVER_ERROR proxy error\r\n") }
            }
        }
        return .next
    }

    /// get/gets/gat/gats whose keys are not all local: each owner gets one request with its keys,
    /// all sent at once; the reply is assembled in the client's key order when all have answered.
    func retrieveAcrossNodes(_ request: Request, _ connection: Connection) -> Next {
        let touching = request.command == .gat || request.command == .gats
        if !touching, let owner = soleOwner(of: request) {
            return relayRetrieval(request, to: owner, connection)
        }
        let expire = Expiry.absolute(request.exptime, now: clock.now)
        let gather = MultiKeyGather(command: request.command, expire: expire)
        var keys = request.keys
        while let key = keys.next() {
            let route = touching ? view.routeWrite(key) : view.routeRead(key, using: &readerRandom)
            switch route {
            case .local: gather.addLocal(key)
            case .forward(let nodeKey):
                if !isLoop(request), let node = view.map[nodeKey: nodeKey] {
                    gather.addRemote(key, node: node)
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
            let link = peerPool.link(to: destination.node, lane: lane)
            gather.appendRequest(for: index, selfKey: view.selfKey, to: link.output)
            link.expect(.values) { [self] result in
                switch result {
                case .success(let reply): gather.received(reply, for: index)
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

    /// The one node every key of a get/gets is read from, if there is one (the common case of a
    /// single key, or of one partition): the request can then be relayed as it is.
    private func soleOwner(of request: Request) -> NodeEntry? {
        guard !isLoop(request) else { return nil }
        var owner: String?
        var keys = request.keys
        while let key = keys.next() {
            guard case .forward(let nodeKey) = view.routeRead(key, using: &readerRandom) else { return nil }
            if let owner, owner != nodeKey { return nil }
            owner = nodeKey
        }
        return owner.flatMap { view.map[nodeKey: $0] }
    }

    /// Sends a get/gets whose keys all live on `node` as one request and passes its reply on
    /// verbatim: no per-key bookkeeping. A failed owner or an error reply reads as misses, as
    /// flare reports read failures.
    private func relayRetrieval(_ request: Request, to node: NodeEntry, _ connection: Connection) -> Next {
        let link = peerPool.link(to: node, lane: peerPool.lane(for: connection))
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
        let slot = connection.openSlot()
        let logger = context.logger
        link.expect(.values) { [counters] result in
            switch result {
            case .success(let reply) where reply.starts(with: "VALUE ".utf8) || reply.starts(with: "END".utf8):
                let hits = UInt64(ReplyFraming.valueCount(in: reply))
                counters.add(NodeCounter.getHits, hits)
                counters.add(NodeCounter.getMisses, keyCount - min(hits, keyCount))
                connection.fill(slot, with: reply)
            case .success(let reply):
                logger.warning("a relayed read got \(String(decoding: reply.prefix(200), as: UTF8.self))")
                counters.add(NodeCounter.getMisses, keyCount)
                connection.fill(slot) { $0.append("END\r\n") }
            case .failure(let failure):
                logger.warning("\(failure)")
                counters.add(NodeCounter.getMisses, keyCount)
                connection.fill(slot) { $0.append("END\r\n") }
            }
        }
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
                key.withUnsafeBytes { key in
                    let hit: Bool?
                    if touching {
                        var replaced = ReplacedItem()
                        let version: UInt64? = (try? store.touch(key, expire: gather.expire, now: now,
                                                                 replaced: &replaced) { header, value in
                            output.appendValue(key: key, flags: header.flags, value: value, cas: withCas ? header.version : nil)
                            return header.version
                        }) ?? nil
                        if let version { carryReads(replaced, to: version, .touch) }
                        hit = version.map { _ in true }
                    } else {
                        hit = try? store.get(key, now: now) { header, value in
                            output.appendValue(key: key, flags: header.flags, value: value, cas: withCas ? header.version : nil)
                            reads.record(header.version, now: now)
                            return true
                        }
                    }
                    counters.add(hit == true ? NodeCounter.getHits : NodeCounter.getMisses)
                }
            case .remote(let block):
                if let block {
                    block.withUnsafeBytes { output.append($0) }
                    counters.add(NodeCounter.getHits)
                } else {
                    counters.add(NodeCounter.getMisses)
                }
            }
        }
        output.append("END\r\n")
    }
}
