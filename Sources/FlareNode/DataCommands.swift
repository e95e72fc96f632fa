import FlareNet
import FlareProtocol
import FlareStorage

/// memcached data commands over the item store.
extension NodeHandler {
    func retrieve(_ request: Request, _ output: ReplyBuffer) {
        let now = clock.now
        let withCas = request.command == .gets
        let mark = output.pendingCount
        var keys = request.keys
        while let key = keys.next() {
            if replyTooLarge(output, since: mark) { return }
            counters.add(NodeCounter.cmdGet)
            do {
                let hit: Void? = try store.get(key, now: now) { header, value in
                    output.appendValue(key: key, flags: header.flags, value: value, cas: withCas ? header.version : nil)
                    reads.record(header.version, now: now)
                }
                counters.add(hit == nil ? NodeCounter.getMisses : NodeCounter.getHits)
            } catch {
                // A read error is a miss for the client, as in flare, but the operator hears of it.
                context.logger.error("read failed: \(error)")
                counters.add(NodeCounter.getMisses)
            }
        }
        output.append("END\r\n")
    }

    /// One multi-get answers at most `maxReplyBytes` (plus one value): a line of a few thousand
    /// keys naming one large item would otherwise make the node buffer gigabytes for one client.
    /// Beyond it, the partial reply is dropped for memcached's error.
    func replyTooLarge(_ output: ReplyBuffer, since mark: Int) -> Bool {
        guard output.pendingCount - mark > context.maxReplyBytes else { return false }
        output.truncate(toPending: mark)
        output.append("SERVER_ERROR out of memory writing get response\r\n")
        return true
    }

    /// Returns the item's new version when it changed (and so must be replicated), else 0.
    @discardableResult
    func storeItem(_ request: Request, _ output: ReplyBuffer) -> UInt64 {
        counters.add(NodeCounter.cmdSet)
        let now = clock.now
        // Kept for the copy, so master and slaves store the very same absolute expiry.
        lastStoredExpire = Expiry.absolute(request.exptime, now: now)
        let command: StoreCommand
        switch request.command {
        case .add: command = .add
        case .replace: command = .replace
        case .append: command = .append
        case .prepend: command = .prepend
        case .cas: command = .cas
        default: command = .set
        }
        let outcome: StoreOutcome
        do {
            outcome = try store.store(command, key: request.key, flags: request.flags,
                                      expire: lastStoredExpire, value: request.value,
                                      casUnique: request.casUnique, version: request.version, now: now)
        } catch {
            storageError(error, output, noreply: request.noreply)
            return 0
        }
        if command == .cas {
            switch outcome {
            case .stored: counters.add(NodeCounter.casHits)
            case .exists: counters.add(NodeCounter.casBadval)
            default: counters.add(NodeCounter.casMisses)
            }
        }
        var stored: UInt64 = 0
        if case .stored(let version) = outcome {
            counters.add(NodeCounter.totalItems)
            stored = version
        }
        guard !request.noreply else { return stored }
        switch outcome {
        case .stored(let version) where request.returnsVersion:
            output.append("STORED ")
            output.appendDecimal(version)
            output.appendCRLF()
        case .stored: output.append("STORED\r\n")
        // A copy older than what this node holds: the sender counts it as delivered.
        case .notStored, .superseded: output.append("NOT_STORED\r\n")
        case .exists: output.append("EXISTS\r\n")
        case .notFound: output.append("NOT_FOUND\r\n")
        }
        return stored
    }

    /// Returns the tombstone's version when an item was deleted, else 0.
    @discardableResult
    func delete(_ request: Request, _ output: ReplyBuffer) -> UInt64 {
        let now = clock.now
        let hold = request.number == 0 ? 0 : Expiry.absolute(request.number, now: now)
        do {
            // A cas unique comes only with a binary delete.
            let outcome = try store.delete(request.key, holdUntil: hold, version: request.version,
                                           casUnique: request.casUnique, now: now)
            var tombstone: UInt64 = 0
            if case .deleted(let version) = outcome { tombstone = version }
            counters.add(tombstone != 0 ? NodeCounter.deleteHits : NodeCounter.deleteMisses)
            if !request.noreply { output.append(tombstone != 0 ? "DELETED\r\n" : outcome == .exists ? "EXISTS\r\n" : "NOT_FOUND\r\n") }
            return tombstone
        } catch {
            storageError(error, output, noreply: request.noreply)
            return 0
        }
    }

    /// Returns the item's new version, else 0.
    @discardableResult
    func arithmetic(_ request: Request, _ output: ReplyBuffer) -> UInt64 {
        let increment = request.command == .incr
        let before = itemBeforeInPlaceChange(request.key)
        do {
            var replaced = ReplacedItem()
            let outcome = try store.arithmetic(request.key, delta: request.delta, increment: increment,
                                               casUnique: request.casUnique, now: clock.now, replaced: &replaced)
            switch outcome {
            case .value(let value, let version):
                carryMarks(from: before, to: version, newLength: DecimalCounter.digits(value))
                carryReads(replaced, to: version, .counter, newLength: DecimalCounter.digits(value))
                counters.add(increment ? NodeCounter.incrHits : NodeCounter.decrHits)
                if !request.noreply {
                    output.appendDecimal(value)
                    if request.returnsVersion {
                        output.append(byte: 0x20)
                        output.appendDecimal(version)
                    }
                    output.appendCRLF()
                }
                return version
            case .notFound:
                counters.add(increment ? NodeCounter.incrMisses : NodeCounter.decrMisses)
                if !request.noreply { output.append("NOT_FOUND\r\n") }
            case .nonNumeric:
                if !request.noreply { output.append("CLIENT_ERROR cannot increment or decrement non-numeric value\r\n") }
            case .exists:
                if !request.noreply { output.append("EXISTS\r\n") }  // only a binary incr names a cas
            }
            return 0
        } catch {
            storageError(error, output, noreply: request.noreply)
            return 0
        }
    }

    /// Returns the item's new version (a touch gives one, so copies order it), else 0.
    @discardableResult
    func touch(_ request: Request, _ output: ReplyBuffer) -> UInt64 {
        counters.add(NodeCounter.cmdTouch)
        let now = clock.now
        let before = itemBeforeInPlaceChange(request.key)
        do {
            var replaced = ReplacedItem()
            let version = try store.touch(request.key, expire: Expiry.absolute(request.exptime, now: now), now: now,
                                          replaced: &replaced) { header, _ in header.version }
            carryMarks(from: before, to: version ?? 0)
            if let version { carryReads(replaced, to: version, .touch) }
            counters.add(version == nil ? NodeCounter.touchMisses : NodeCounter.touchHits)
            if !request.noreply { output.append(version == nil ? "NOT_FOUND\r\n" : "TOUCHED\r\n") }
            return version ?? 0
        } catch {
            storageError(error, output, noreply: request.noreply)
            return 0
        }
    }

    /// memcached's `gat`/`gats <exptime> <key>…`: touch every key and return the hits like get/gets.
    func getAndTouch(_ request: Request, _ output: ReplyBuffer) {
        let now = clock.now
        let expire = Expiry.absolute(request.exptime, now: now)
        let withCas = request.command == .gats
        let mark = output.pendingCount
        var keys = request.keys
        while let key = keys.next() {
            if replyTooLarge(output, since: mark) { return }
            counters.add(NodeCounter.cmdTouch)
            counters.add(NodeCounter.cmdGet)
            let before = itemBeforeInPlaceChange(key)
            do {
                var replaced = ReplacedItem()
                let version: UInt64? = try store.touch(key, expire: expire, now: now, replaced: &replaced) { header, value in
                    carryMarks(from: before, to: header.version)
                    output.appendValue(key: key, flags: header.flags, value: value, cas: withCas ? header.version : nil)
                    return header.version
                }
                if let version { carryReads(replaced, to: version, .touch) }
                counters.add(version == nil ? NodeCounter.touchMisses : NodeCounter.touchHits)
                counters.add(version == nil ? NodeCounter.getMisses : NodeCounter.getHits)
                // The new expiry is a write: the slaves get it as they would a touch's.
                if let version, view.mayReplicate || recordsBacklog {
                    replicateReadBack(key: key, of: request, version: version)
                }
            } catch {
                context.markStorageFailure(error)
                counters.add(NodeCounter.getMisses)
            }
        }
        output.append("END\r\n")
    }

    /// `flush_all [delay] [noreply]`: erases the local store now, or after `delay` seconds as memcached does.
    func flushAll(_ request: Request, _ output: ReplyBuffer) {
        let delay = request.number
        if delay > 0 {
            guard context.scheduleFlush(afterSeconds: delay) else {
                if !request.noreply { output.append("SERVER_ERROR shutting down\r\n") }
                return
            }
        } else {
            context.delayedFlush.cancel()
            do {
                try store.flushAll()
            } catch {
                storageError(error, output, noreply: request.noreply)
                return
            }
        }
        if !request.noreply { output.append("OK\r\n") }
    }
}
