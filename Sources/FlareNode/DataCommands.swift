import FlareNet
import FlareProtocol
import FlareStorage

/// memcached data commands over the item store.
extension NodeHandler {
    func retrieve(_ request: Request, _ output: ReplyBuffer) {
        let now = clock.now
        let withCas = request.command == .gets
        var keys = request.keys
        while let key = keys.next() {
            counters.add(NodeCounter.cmdGet)
            do {
                let hit: Void? = try store.get(key, now: now) { header, value in
                    output.appendValue(key: key, flags: header.flags, value: value, cas: withCas ? header.version : nil)
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

    /// Returns true when the item changed (and so must be replicated).
    @discardableResult
    func storeItem(_ request: Request, _ output: ReplyBuffer) -> Bool {
        counters.add(NodeCounter.cmdSet)
        let now = clock.now
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
                                      expire: Expiry.absolute(request.exptime, now: now), value: request.value,
                                      casUnique: request.casUnique, version: request.version, now: now)
        } catch {
            storageError(error, output, noreply: request.noreply)
            return false
        }
        if command == .cas {
            switch outcome {
            case .stored: counters.add(NodeCounter.casHits)
            case .exists: counters.add(NodeCounter.casBadval)
            default: counters.add(NodeCounter.casMisses)
            }
        }
        var stored = false
        if case .stored = outcome {
            counters.add(NodeCounter.totalItems)
            stored = true
        }
        guard !request.noreply else { return stored }
        switch outcome {
        case .stored: output.append("STORED\r\n")
        // A superseded replicated write is a success for replication; it still replies as before.
        case .notStored, .superseded: output.append("NOT_STORED\r\n")
        case .exists: output.append("EXISTS\r\n")
        case .notFound: output.append("NOT_FOUND\r\n")
        }
        return stored
    }

    @discardableResult
    func delete(_ request: Request, _ output: ReplyBuffer) -> Bool {
        let now = clock.now
        let hold = request.number == 0 ? 0 : Expiry.absolute(request.number, now: now)
        do {
            let outcome = try store.delete(request.key, holdUntil: hold, version: request.version, now: now)
            let deleted = if case .deleted = outcome { true } else { false }
            counters.add(deleted ? NodeCounter.deleteHits : NodeCounter.deleteMisses)
            if !request.noreply { output.append(deleted ? "DELETED\r\n" : "NOT_FOUND\r\n") }
            return deleted
        } catch {
            storageError(error, output, noreply: request.noreply)
            return false
        }
    }

    @discardableResult
    func arithmetic(_ request: Request, _ output: ReplyBuffer) -> Bool {
        let increment = request.command == .incr
        do {
            let outcome = try store.arithmetic(request.key, delta: request.delta, increment: increment, now: clock.now)
            switch outcome {
            case .value(let value, _):
                counters.add(increment ? NodeCounter.incrHits : NodeCounter.decrHits)
                if !request.noreply {
                    output.appendDecimal(value)
                    output.appendCRLF()
                }
                return true
            case .notFound:
                counters.add(increment ? NodeCounter.incrMisses : NodeCounter.decrMisses)
                if !request.noreply { output.append("NOT_FOUND\r\n") }
            case .nonNumeric:
                if !request.noreply { output.append("CLIENT_ERROR cannot increment or decrement non-numeric value\r\n") }
            }
            return false
        } catch {
            storageError(error, output, noreply: request.noreply)
            return false
        }
    }

    @discardableResult
    func touch(_ request: Request, _ output: ReplyBuffer) -> Bool {
        counters.add(NodeCounter.cmdTouch)
        let now = clock.now
        do {
            let hit = try store.touch(request.key, expire: Expiry.absolute(request.exptime, now: now), now: now) { _, _ in true }
            counters.add(hit == nil ? NodeCounter.touchMisses : NodeCounter.touchHits)
            if !request.noreply { output.append(hit == nil ? "NOT_FOUND\r\n" : "TOUCHED\r\n") }
            return hit != nil
        } catch {
            storageError(error, output, noreply: request.noreply)
            return false
        }
    }

    /// memcached's `gat`/`gats <exptime> <key>…`: touch every key and return the hits like get/gets.
    func getAndTouch(_ request: Request, _ output: ReplyBuffer) {
        let now = clock.now
        let expire = Expiry.absolute(request.exptime, now: now)
        let withCas = request.command == .gats
        var keys = request.keys
        while let key = keys.next() {
            counters.add(NodeCounter.cmdTouch)
            counters.add(NodeCounter.cmdGet)
            do {
                let hit: Void? = try store.touch(key, expire: expire, now: now) { header, value in
                    output.appendValue(key: key, flags: header.flags, value: value, cas: withCas ? header.version : nil)
                }
                counters.add(hit == nil ? NodeCounter.touchMisses : NodeCounter.touchHits)
                counters.add(hit == nil ? NodeCounter.getMisses : NodeCounter.getHits)
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
            context.scheduleFlush(afterSeconds: delay)
        } else {
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
