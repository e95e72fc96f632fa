import FlareNet
import FlareProtocol
import FlareStorage

/// `mg` and `me`: reads, with the touch, vivify and recache rules of memcached 1.6.18.
extension NodeHandler {
    // MARK: - mg

    func metaGet(_ request: Request, sentKey: UnsafeRawBufferPointer, _ output: ReplyBuffer) -> MetaChange {
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
                // `h` and `l` report the reads of the item before the touch (its old version).
                let before = flags.has("t") || flags.has("R") || flags.has("h") || flags.has("l")
                    || !context.itemMarks.isEmpty ? try store.get(key, now: now) { header, _ in header } : nil
                var replaced = ReplacedItem()
                hit = try store.touch(key, expire: expire, now: now, replaced: &replaced) { header, value in
                    change.version = header.version
                    if let before { context.itemMarks.carry(from: before.version, to: header.version) }
                    // Touched into the past, the item is still returned this once, as memcached does.
                    appendMetaHit(request, sentKey: sentKey, header: header, value: value, now: now,
                                  expireBeforeT: before?.expire, readVersion: before?.version, output)
                    return true
                }
                // The touch changes the item in memcached's eyes only in place; `u` asks for no read.
                if hit == true { carryReads(replaced, to: change.version, flags.has("u") ? .keep : .touch) }
            } else {
                var version: UInt64 = 0
                hit = try store.get(key, now: now) { header, value in
                    appendMetaHit(request, sentKey: sentKey, header: header, value: value, now: now, output)
                    version = header.version
                    return true
                }
                // After the reply, as memcached: `h` and `l` answer what was before this read.
                if hit == true && !flags.has("u") { reads.record(version, now: now) }
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
                    if !flags.has("u") { reads.record(version, now: now) }
                    return MetaChange(version: version)
                }
                // Created meanwhile by another client: answer with that item.
                let raced = try store.get(key, now: now) { header, value in
                    appendMetaHit(request, sentKey: sentKey, header: header, value: value, now: now, output)
                    if !flags.has("u") { reads.record(header.version, now: now) }
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
    func appendMetaHit(_ request: Request, sentKey: UnsafeRawBufferPointer, header: ItemHeader,
                       value: UnsafeRawBufferPointer, now: Int64, expireBeforeT: Int64? = nil,
                       created: Bool = false, readVersion: UInt64? = nil, _ output: ReplyBuffer) {
        let flags = request.meta
        if flags.has("v") {
            output.reserve(value.count + 64)
            output.append("VA ")
            output.appendDecimal(UInt64(value.count))
        } else {
            output.append("HD")
        }
        var wantsToken = appendReturnFlags(request, sentKey: sentKey, allowed: "cfstOkhl", header: header,
                                           size: value.count, now: now, expireBeforeT: expireBeforeT,
                                           created: created, readVersion: readVersion, output)
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

    // MARK: - me

    /// `ME <key> exp=<ttl> cas=<cas unique> size=<value bytes>`: the fields flare keeps (memcached
    /// also reports slab class, last access and whether the item was fetched, which flare does not track).
    func metaDebug(_ request: Request, sentKey: UnsafeRawBufferPointer, _ output: ReplyBuffer) -> MetaChange {
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
}
