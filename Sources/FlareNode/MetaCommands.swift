import FlareNet
import FlareProtocol
import FlareStorage

/// memcached 1.6's meta commands (docs/meta-commands.md) over the item store, as memcached 1.6.18
/// answers them. Writes take the classic commands' paths: a new version per write, the copy to the
/// partition's replicas read back from the store, and forwarding to the key's owner in a cluster.
extension NodeHandler {
    func executeMeta(_ request: Request, on connection: Connection) -> Next {
        let output = connection.output
        if request.command == .mn {
            output.append("MN\r\n")
            return .next
        }
        var request = request
        let sentKey = request.key
        if request.meta.has("b") {
            let buffer = metaKeys.bytes
            guard let length = Base64.decode(sentKey, into: buffer) else {
                output.append(MetaError.keyDecoding.reply)
                return .next
            }
            let decoded = UnsafeRawBufferPointer(rebasing: buffer[0..<length])
            guard parser.isValidKey(decoded), !decoded.contains(0x20) else {
                output.append(MetaError.binaryKeyUnsupported.reply)
                return .next
            }
            request.key = decoded
        }
        // mg goes to the master like the writes: besides T and N, any hit may hand out the recache
        // token, whose state (ItemMarks) lives on the master only.
        if serving != .serve && refused(request, output) { return .next }
        let route = request.command == .me ? view.routeRead(request.key, using: &readerRandom) : view.routeWrite(request.key)
        if case .forward(let node) = route { return forwardMeta(request, sentKey: sentKey, to: node, connection) }
        guard routedLocally(route, request, output) else { return .next }

        let mark = output.pendingCount
        let change: MetaChange
        switch request.command {
        case .mg: change = metaGet(request, sentKey: sentKey, output)
        case .ms: change = metaSet(request, sentKey: sentKey, output)
        case .md: change = metaDelete(request, sentKey: sentKey, output)
        case .ma: change = metaArithmetic(request, sentKey: sentKey, output)
        default: change = metaDebug(request, sentKey: sentKey, output)
        }
        guard change.version != 0, view.mayReplicate || recordsBacklog else { return .next }
        // The copy is the item as stored now (read back), or a tombstone: what the classic commands send.
        var copy = request
        copy.command = change.deleted ? .delete : .touch
        copy.replication = .configured
        return replicate(copy, version: change.version, replyMark: mark, connection)
    }

    /// What a meta command changed, for its copy to the replicas.
    struct MetaChange {
        var version: UInt64 = 0
        var deleted = false
        static let none = MetaChange()
    }

    // MARK: - through the cluster

    /// Sends the meta command to the key's owner as the client wrote it (keys in base64 stay so)
    /// and relays the reply. Quiet mode travels too: the request is followed by `mn`, so the reply
    /// ends at the owner's `MN` whether or not the command itself answered.
    /// The reply holds the request's place in the client's reply stream (`Connection.openSlot`),
    /// so an `mn` behind it answers after it.
    func forwardMeta(_ request: Request, sentKey: UnsafeRawBufferPointer, to nodeKey: String,
                     _ connection: Connection) -> Next {
        guard !isLoop(request), let node = view.map[nodeKey: nodeKey] else {
            connection.output.append("SERVER_ERROR proxy error\r\n")
            return .next
        }
        let link = peerPool.link(to: node, lane: peerPool.lane(for: connection))
        let out = link.output
        ForwardedRequest.appendPrefix(request, selfKey: view.selfKey, to: out)
        out.append(request.command.name)
        out.append(byte: 0x20)
        out.append(sentKey)
        if request.command == .ms {
            out.append(byte: 0x20)
            out.appendDecimal(UInt64(request.value.count))
        }
        var words = request.arguments
        while let word = words.next() {
            out.append(byte: 0x20)
            out.append(word)
        }
        out.appendCRLF()
        if request.command == .ms {
            out.append(request.value)
            out.appendCRLF()
        }
        let quiet = request.meta.has("q")
        if quiet { out.append("mn\r\n") }
        let logger = context.logger
        let slot = connection.openSlot()
        link.expect(quiet ? .metaUntilNoop : .meta) { result in
            switch result {
            case .success(let reply):
                // Drop the `MN` that only closed a quiet request.
                connection.fill(slot, with: quiet ? UnsafeRawBufferPointer(rebasing: reply.bytes.dropLast(4)) : reply.bytes)
            case .failure(let failure):
                logger.warning("\(failure)")
                connection.fill(slot) { $0.append("SERVER_ERROR proxy error\r\n") }
            }
        }
        return .next
    }
}

/// Classic commands that change an item in place in memcached (incr/decr, touch, gat) keep its
/// stale and recache-token marks; these carry them to the item's new version. Free while no item
/// has marks.
extension NodeHandler {
    /// The version and value length of `key`'s item, read only while some item has marks.
    func itemBeforeInPlaceChange(_ key: UnsafeRawBufferPointer) -> (version: UInt64, length: Int)? {
        guard !context.itemMarks.isEmpty else { return nil }
        return try? store.get(key, now: clock.now) { header, value in (header.version, value.count) }
    }

    /// After a touch (`newLength` nil) or a counter change to `newVersion`.
    func carryMarks(from before: (version: UInt64, length: Int)?, to newVersion: UInt64, newLength: Int? = nil) {
        guard let before, newVersion != 0 else { return }
        // memcached changes a counter in place only when the number is no longer.
        if let newLength, newLength > before.length { return }
        context.itemMarks.carry(from: before.version, to: newVersion)
    }
}

/// The reads `mg … h l` reports go with an item memcached changes in place (a touch, a counter
/// that does not get longer, `md … I`), where flare gives it a new version.
extension NodeHandler {
    /// `newLength`: a counter's new length (memcached writes a new item when the number gets longer).
    func carryReads(_ replaced: ReplacedItem, to new: UInt64, _ change: ItemAccesses.InPlaceChange,
                    newLength: Int? = nil) {
        guard new != 0 else { return }
        let now = clock.now
        guard replaced.version != 0, (newLength ?? 0) <= replaced.length else {
            if change == .touch { reads.record(new, now: now) }
            return
        }
        context.accesses.carry(from: replaced.version, to: new, now: now, change, into: reads)
    }
}

/// A buffer for a decoded base64 key, one per worker.
final class MetaKeyBuffer {
    let bytes: UnsafeMutableRawBufferPointer

    init(capacity: Int) {
        bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 1)
    }

    deinit { bytes.deallocate() }
}
