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
        if request.command == .mg && (request.meta.has("h") || request.meta.has("l")) {
            output.append("CLIENT_ERROR flags h and l (hit before, last access) are not supported by flare\r\n")
            return .next
        }
        // mg goes to the master like the writes: besides T and N, any hit may hand out the recache
        // token, whose state (ItemMarks) lives on the master only.
        if serving != .serve && refused(request, output) { return .next }
        let route = request.command == .me ? view.routeRead(request.key) : view.routeWrite(request.key)
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

    // MARK: - mg

    private func metaGet(_ request: Request, sentKey: UnsafeRawBufferPointer, _ output: ReplyBuffer) -> MetaChange {
        let flags = request.meta
        let key = request.key
        let now = clock.now
        counters.add(NodeCounter.cmdGet)
        var change = MetaChange.none
        do {
            var hit: Bool?
            if flags.has("T") {
                counters.add(NodeCounter.cmdTouch)
                let expire = Expiry.absolute(flags.ttl, now: now)
                // The item before the touch: `R` and a `t` before the `T` see its TTL (memcached
                // applies T while it writes the reply), and its marks stay with it.
                let before = flags.has("t") || flags.has("R") || !context.itemMarks.isEmpty
                    ? try store.get(key, now: now) { header, _ in header } : nil
                hit = try store.touch(key, expire: expire, now: now) { header, value in
                    change.version = header.version
                    if let before { context.itemMarks.carry(from: before.version, to: header.version) }
                    // Touched into the past, the item is still returned this once, as memcached does.
                    appendMetaHit(request, sentKey: sentKey, header: header, value: value, now: now,
                                  expireBeforeT: before?.expire, output)
                    return true
                }
            } else {
                hit = try store.get(key, now: now) { header, value in
                    appendMetaHit(request, sentKey: sentKey, header: header, value: value, now: now, output)
                    return true
                }
            }
            if hit == true {
                counters.add(NodeCounter.getHits)
                return change
            }
            counters.add(NodeCounter.getMisses)
            if flags.has("N") {
                // Vivify: an empty item whose recache token this client wins; others see Z. Its TTL
                // is that of N or T, whichever comes last (memcached applies them in order).
                var words = request.arguments
                var lastTTL = flags.vivify
                while let word = words.next() {
                    if word[0] == UInt8(ascii: "T") { lastTTL = flags.ttl }
                    if word[0] == UInt8(ascii: "N") { lastTTL = flags.vivify }
                }
                let expire = Expiry.absolute(lastTTL, now: now)
                lastStoredExpire = expire
                let outcome = try store.store(.add, key: key, flags: 0, expire: expire,
                                              value: UnsafeRawBufferPointer(start: nil, count: 0), now: now)
                if case .stored(let version) = outcome {
                    // Answered as a hit; it had no TTL until its `N` (memcached sets it there).
                    appendMetaHit(request, sentKey: sentKey, header: ItemHeader(flags: 0, expire: expire, version: version),
                                  value: UnsafeRawBufferPointer(start: nil, count: 0), now: now, expireBeforeT: 0,
                                  created: true, output)
                    return MetaChange(version: version)
                }
                // Created meanwhile by another client: answer with that item.
                let raced = try store.get(key, now: now) { header, value in
                    appendMetaHit(request, sentKey: sentKey, header: header, value: value, now: now, output)
                    return true
                }
                if raced == true { return change }
            }
            if flags.has("q") { return change }
            output.append("EN")
            appendReturnFlags(request, sentKey: sentKey, allowed: "Ok", header: nil, size: 0, now: now, output)
            output.appendCRLF()
        } catch {
            storageError(error, output, noreply: false)
        }
        return change
    }

    /// `VA <size> <flags>*` + data, or `HD <flags>*`, then the stale-while-revalidate flags: Z (a
    /// client already holds the recache token), X (stale), W (this client wins it now).
    /// `created`: the item this request's `N` just made.
    private func appendMetaHit(_ request: Request, sentKey: UnsafeRawBufferPointer, header: ItemHeader,
                               value: UnsafeRawBufferPointer, now: Int64, expireBeforeT: Int64? = nil,
                               created: Bool = false, _ output: ReplyBuffer) {
        let flags = request.meta
        if flags.has("v") {
            output.reserve(value.count + 64)
            output.append("VA ")
            output.appendDecimal(UInt64(value.count))
        } else {
            output.append("HD")
        }
        var wantsToken = appendReturnFlags(request, sentKey: sentKey, allowed: "cfstOk", header: header, size: value.count,
                                           now: now, expireBeforeT: expireBeforeT, created: created, output)
        let marks = context.itemMarks
        let current = marks.marks(of: header.version)
        // A stale item hands its token to the first client that reads it.
        if current.contains(.stale) { wantsToken = true }
        var won = false
        if wantsToken && !current.contains(.tokenSent) { won = marks.claimToken(of: header.version).won }
        if current.contains(.tokenSent) { output.append(" Z") }
        if current.contains(.stale) { output.append(" X") }
        if won { output.append(" W") }
        output.appendCRLF()
        if flags.has("v") {
            output.append(value)
            output.appendCRLF()
        }
    }

    /// The flags a reply returns, in the order the request gave them; `allowed` lists the letters
    /// this reply carries (`k` brings `b` along when the key was sent in base64).
    ///
    /// memcached applies `T` (and an `N` that created the item) where it stands among the flags: a
    /// `t` before it reports the TTL the item had before (`expireBeforeT`), a `t` after it the new
    /// one, and `R` compares the TTL as it stands there. Returns whether `mg`'s `R` or `N` asks for
    /// the recache token (`ma` ignores it: a counter's creation hands out no token).
    @discardableResult
    private func appendReturnFlags(_ request: Request, sentKey: UnsafeRawBufferPointer, allowed: StaticString,
                                   header: ItemHeader?, size: Int, now: Int64, expireBeforeT: Int64? = nil,
                                   created: Bool = false, _ output: ReplyBuffer) -> Bool {
        var expire = expireBeforeT ?? header?.expire ?? 0
        var wantsToken = false
        let getting = request.command == .mg && header != nil
        var mask: UInt64 = 0
        for index in 0..<allowed.utf8CodeUnitCount { mask |= MetaFlags.bit(allowed.utf8Start[index]) }
        var words = request.arguments
        while let word = words.next() {
            let letter = word[0]
            switch letter {
            case UInt8(ascii: "T"):
                expire = Expiry.absolute(request.meta.ttl, now: now)
            case UInt8(ascii: "N") where created:
                expire = header?.expire ?? 0
                wantsToken = true
            case UInt8(ascii: "R") where getting && !created:
                if expire != 0 && expire < Expiry.absolute(request.meta.recache, now: now) { wantsToken = true }
            default:
                break
            }
            guard mask & MetaFlags.bit(letter) != 0 else { continue }
            output.append(byte: 0x20)
            switch letter {
            case UInt8(ascii: "O"):
                output.append(word)
            case UInt8(ascii: "k"):
                output.append(byte: letter)
                output.append(sentKey)
                if request.meta.has("b") { output.append(" b") }
            case UInt8(ascii: "c"):
                output.append(byte: letter)
                output.appendDecimal(header?.version ?? 0)
            case UInt8(ascii: "f"):
                output.append(byte: letter)
                output.appendDecimal(UInt64(header?.flags ?? 0))
            case UInt8(ascii: "s"):
                output.append(byte: letter)
                output.appendDecimal(UInt64(size))
            case UInt8(ascii: "t"):
                output.append(byte: letter)
                output.appendDecimal(expire == 0 ? -1 : expire - now)
            default:
                break
            }
        }
        return wantsToken
    }

    // MARK: - ms

    private func metaSet(_ request: Request, sentKey: UnsafeRawBufferPointer, _ output: ReplyBuffer) -> MetaChange {
        let flags = request.meta
        let key = request.key
        let now = clock.now
        counters.add(NodeCounter.cmdSet)
        var command: StoreCommand
        switch flags.has("M") ? flags.mode : UInt8(ascii: "S") {
        case UInt8(ascii: "E"): command = .add
        case UInt8(ascii: "A"): command = .append
        case UInt8(ascii: "P"): command = .prepend
        case UInt8(ascii: "R"): command = .replace
        default: command = .set
        }
        let compare = flags.has("C") ? flags.compareCas : 0
        if compare != 0 && command == .set { command = .cas }
        var expire = Expiry.absolute(flags.ttl, now: now)
        var staleWrite = false
        var inherited: ItemMarks.Mark = []
        var casUnique = compare
        do {
            if flags.has("I"), command == .cas || (command == .replace && compare != 0) {
                // Invalidation: a write with an older cas unique than the item's is still stored,
                // marked stale, keeping the item's expiry and recache token (memcached's rule).
                let current = try store.get(key, now: now) { header, _ in header }
                if let current, compare < current.version {
                    staleWrite = true
                    expire = current.expire
                    casUnique = current.version
                    inherited = context.itemMarks.marks(of: current.version).intersection(.tokenSent)
                }
            }
            lastStoredExpire = expire
            let outcome = try store.store(command, key: key, flags: flags.clientFlags, expire: expire, value: request.value,
                                          casUnique: casUnique, now: now)
            var version: UInt64 = 0
            let status: StaticString
            switch outcome {
            case .stored(let stored):
                version = stored
                counters.add(NodeCounter.totalItems)
                if staleWrite { context.itemMarks.add(inherited.union(.stale), to: stored) }
                status = "HD"
            // memcached reports a compared replace of a missing key as not found.
            case .notStored where command == .replace && compare != 0: status = "NF"
            case .notStored, .superseded: status = "NS"
            case .exists: status = "EX"
            case .notFound: status = "NF"
            }
            if command == .cas {
                counters.add(version != 0 ? NodeCounter.casHits : outcome == .exists ? NodeCounter.casBadval : NodeCounter.casMisses)
            }
            if !(version != 0 && flags.has("q")) {
                output.append(status)
                let header = ItemHeader(flags: flags.clientFlags, expire: expire, version: version)
                appendReturnFlags(request, sentKey: sentKey, allowed: "Okc", header: header, size: 0, now: now, output)
                output.appendCRLF()
            }
            return MetaChange(version: version)
        } catch {
            storageError(error, output, noreply: false)
            return .none
        }
    }

    // MARK: - md

    private func metaDelete(_ request: Request, sentKey: UnsafeRawBufferPointer, _ output: ReplyBuffer) -> MetaChange {
        let flags = request.meta
        let key = request.key
        let now = clock.now
        let expected = flags.has("C") ? flags.compareCas : 0
        var change = MetaChange.none
        let status: StaticString
        do {
            if flags.has("I") {
                // Invalidate: the item stays, stale, with a new cas unique (and T's expiry).
                let expire = flags.has("T") ? Expiry.absolute(flags.ttl, now: now) : nil
                switch try store.bump(key, expire: expire, ifVersion: expected, now: now) {
                case .mismatch: status = "EX"
                case .ran(nil): status = "NF"
                case .ran(let header?):
                    context.itemMarks.add(.stale, to: header.version)
                    change.version = header.version
                    status = "HD"
                }
            } else {
                let outcome: Guarded<DeleteOutcome> = expected != 0
                    ? try store.delete(key, ifVersion: expected, now: now)
                    : .ran(try store.delete(key, now: now))
                switch outcome {
                case .mismatch: status = "EX"
                case .ran(.deleted(let version)):
                    change = MetaChange(version: version, deleted: true)
                    status = "HD"
                case .ran: status = "NF"
                }
            }
        } catch {
            storageError(error, output, noreply: false)
            return .none
        }
        counters.add(change.version != 0 ? NodeCounter.deleteHits : NodeCounter.deleteMisses)
        if change.version != 0 && flags.has("q") { return change }
        output.append(status)
        appendReturnFlags(request, sentKey: sentKey, allowed: "Ok", header: nil, size: 0, now: now, output)
        output.appendCRLF()
        return change
    }

    // MARK: - ma

    private func metaArithmetic(_ request: Request, sentKey: UnsafeRawBufferPointer, _ output: ReplyBuffer) -> MetaChange {
        let flags = request.meta
        let key = request.key
        let now = clock.now
        let increment: Bool
        switch flags.has("M") ? flags.mode : UInt8(ascii: "I") {
        case UInt8(ascii: "D"), UInt8(ascii: "-"): increment = false
        default: increment = true
        }
        let expected = flags.has("C") ? flags.compareCas : 0
        do {
            // The counter before: its TTL for a `t` before `T`, its marks for a change in place.
            let before = (flags.has("T") && flags.has("t")) || !context.itemMarks.isEmpty
                ? try store.get(key, now: now) { header, value in (header: header, length: value.count) } : nil
            var outcome: Guarded<ArithmeticOutcome> = expected != 0
                ? try store.arithmetic(key, delta: flags.delta, increment: increment, ifVersion: expected, now: now)
                : .ran(try store.arithmetic(key, delta: flags.delta, increment: increment, now: now))
            var vivified = false
            if case .ran(.notFound) = outcome, flags.has("N") {
                // Auto-create with the initial value J; a client that raced us created it first.
                let expire = Expiry.absolute(flags.vivify, now: now)
                var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
                let stored = try withUnsafeMutableBytes(of: &digits) { buffer throws(StorageError) -> StoreOutcome in
                    let text = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<DecimalCounter.maxDigits])
                    let start = DecimalCounter.format(flags.initial, into: text)
                    return try store.store(.add, key: key, flags: 0, expire: expire,
                                           value: UnsafeRawBufferPointer(rebasing: text[start...]), now: now)
                }
                if case .stored(let version) = stored {
                    outcome = .ran(.value(flags.initial, version: version))
                    vivified = true
                } else {
                    outcome = .ran(try store.arithmetic(key, delta: flags.delta, increment: increment, now: now))
                }
            }
            switch outcome {
            case .mismatch:
                output.append("EX")
                appendReturnFlags(request, sentKey: sentKey, allowed: "Ok", header: nil, size: 0, now: now, output)
                output.appendCRLF()
                return .none
            case .ran(.notFound):
                counters.add(increment ? NodeCounter.incrMisses : NodeCounter.decrMisses)
                output.append("NF")
                appendReturnFlags(request, sentKey: sentKey, allowed: "Ok", header: nil, size: 0, now: now, output)
                output.appendCRLF()
                return .none
            case .ran(.nonNumeric):
                output.append("CLIENT_ERROR cannot increment or decrement non-numeric value\r\n")
                return .none
            case .ran(.value(let value, var version)):
                counters.add(increment ? NodeCounter.incrHits : NodeCounter.decrHits)
                // memcached changes a counter in place (keeping its marks) when the number is no longer.
                if let before, !vivified, DecimalCounter.digits(value) <= before.length {
                    context.itemMarks.carry(from: before.header.version, to: version)
                }
                var expireBeforeT: Int64?
                if flags.has("T") && !vivified {
                    let expire = Expiry.absolute(flags.ttl, now: now)
                    expireBeforeT = before?.header.expire
                    let touched = try store.touch(key, expire: expire, now: now) { header, _ in header.version } ?? version
                    context.itemMarks.carry(from: version, to: touched)
                    version = touched
                }
                // memcached's quiet mode hides the success of an existing counter, not a creation.
                if flags.has("q") && !vivified { return MetaChange(version: version) }
                var header = try store.get(key, now: now) { header, _ in header }
                    ?? ItemHeader(flags: 0, expire: 0, version: version)
                header.version = version
                var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
                withUnsafeMutableBytes(of: &digits) { buffer in
                    let text = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<DecimalCounter.maxDigits])
                    let start = DecimalCounter.format(value, into: text)
                    let number = UnsafeRawBufferPointer(rebasing: text[start...])
                    if flags.has("v") {
                        output.append("VA ")
                        output.appendDecimal(UInt64(number.count))
                    } else {
                        output.append("HD")
                    }
                    // A counter N created had no TTL until its `N` (as in mg).
                    appendReturnFlags(request, sentKey: sentKey, allowed: "Okct", header: header, size: number.count, now: now,
                                      expireBeforeT: vivified ? 0 : expireBeforeT, created: vivified, output)
                    output.appendCRLF()
                    if flags.has("v") {
                        output.append(number)
                        output.appendCRLF()
                    }
                }
                return MetaChange(version: version)
            }
        } catch {
            storageError(error, output, noreply: false)
            return .none
        }
    }

    // MARK: - me

    /// `ME <key> exp=<ttl> cas=<cas unique> size=<value bytes>`: the fields flare keeps (memcached
    /// also reports slab class, last access and whether the item was fetched, which flare does not track).
    private func metaDebug(_ request: Request, sentKey: UnsafeRawBufferPointer, _ output: ReplyBuffer) -> MetaChange {
        let now = clock.now
        do {
            let hit = try store.get(request.key, now: now) { header, value in
                output.append("ME ")
                output.append(sentKey)
                output.append(" exp=")
                output.appendDecimal(header.expire == 0 ? -1 : header.expire - now)
                output.append(" cas=")
                output.appendDecimal(header.version)
                output.append(" size=")
                output.appendDecimal(UInt64(value.count))
                output.appendCRLF()
                return true
            }
            if hit == nil { output.append("EN\r\n") }
        } catch {
            storageError(error, output, noreply: false)
        }
        return .none
    }

    // MARK: - through the cluster

    /// Sends the meta command to the key's owner as the client wrote it (keys in base64 stay so)
    /// and relays the reply. Quiet mode travels too: the request is followed by `mn`, so the reply
    /// ends at the owner's `MN` whether or not the command itself answered.
    private func forwardMeta(_ request: Request, sentKey: UnsafeRawBufferPointer, to nodeKey: String,
                             _ connection: Connection) -> Next {
        let output = connection.output
        guard !isLoop(request), let node = view.map[nodeKey: nodeKey] else {
            output.append("SERVER_ERROR proxy error\r\n")
            return .next
        }
        let link = peerPool.link(to: node, key: request.key)
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
        link.expect(quiet ? .metaUntilNoop : .meta) { result in
            switch result {
            case .success(let reply):
                // Drop the `MN` that only closed a quiet request.
                output.append(quiet ? UnsafeRawBufferPointer(rebasing: reply.dropLast(4)) : reply)
            case .failure(let failure):
                logger.warning("\(failure)")
                output.append("SERVER_ERROR proxy error\r\n")
            }
            connection.replyArrived()
        }
        connection.awaitReply()
        return .awaiting
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

/// A buffer for a decoded base64 key, one per worker.
final class MetaKeyBuffer {
    let bytes: UnsafeMutableRawBufferPointer

    init(capacity: Int) {
        bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 1)
    }

    deinit { bytes.deallocate() }
}
