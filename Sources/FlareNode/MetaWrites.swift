import FlareNet
import FlareProtocol
import FlareStorage

/// `ms`, `md` and `ma`: writes, each through the item store's atomic updates.
extension NodeHandler {
    // MARK: - ms

    func metaSet(_ request: Request, sentKey: UnsafeRawBufferPointer, _ output: ReplyBuffer) -> MetaChange {
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

    func metaDelete(_ request: Request, sentKey: UnsafeRawBufferPointer, _ output: ReplyBuffer) -> MetaChange {
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
                var replaced = ReplacedItem()
                switch try store.bump(key, expire: expire, ifVersion: expected, now: now, replaced: &replaced) {
                case .mismatch: status = "EX"
                case .ran(nil): status = "NF"
                case .ran(let header?):
                    context.itemMarks.add(.stale, to: header.version)
                    carryReads(replaced, to: header.version, .keep)
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

    func metaArithmetic(_ request: Request, sentKey: UnsafeRawBufferPointer, _ output: ReplyBuffer) -> MetaChange {
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
            var replaced = ReplacedItem()
            var outcome: Guarded<ArithmeticOutcome> = expected != 0
                ? try store.arithmetic(key, delta: flags.delta, increment: increment, ifVersion: expected, now: now,
                                       replaced: &replaced)
                : .ran(try store.arithmetic(key, delta: flags.delta, increment: increment, now: now, replaced: &replaced))
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
            case .mismatch, .ran(.exists):
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
                if !vivified { carryReads(replaced, to: version, .counter, newLength: DecimalCounter.digits(value)) }
                var expireBeforeT: Int64?
                if flags.has("T") && !vivified {
                    let expire = Expiry.absolute(flags.ttl, now: now)
                    expireBeforeT = before?.header.expire
                    var retouched = ReplacedItem()
                    let touched = try store.touch(key, expire: expire, now: now, replaced: &retouched) { header, _ in header.version } ?? version
                    context.itemMarks.carry(from: version, to: touched)
                    carryReads(retouched, to: touched, .keep)
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
}
