import FlareCluster
import FlareConfig
import FlareNet
import FlareProtocol
import FlareStorage

/// memcached's binary protocol on a connection whose first byte was the request magic.
///
/// A binary request runs as its text twin, through the same paths: `storeItem`, `delete`,
/// `arithmetic`, `flushAll`, `stats` here, with the same counters, versions and replication; a key
/// another node owns is forwarded as the text request, like any other. The text reply (from the
/// local path or the owner) is translated into the binary answer (BinaryTextReply). The item's
/// version is its cas. Replies stay in request order: a forwarded request holds its place in the
/// reply stream (`Connection.openSlot`) whether or not its quiet form will answer.
extension NodeHandler {
    func processBinary(_ connection: Connection, input: UnsafeRawBufferPointer) -> ProcessOutcome {
        let binaryParser = BinaryRequestParser(limits: parser.limits)
        let output = connection.output
        var offset = 0
        serving = context.stallGuard.check(version: view.version)
        while offset < input.count {
            let rest = UnsafeRawBufferPointer(rebasing: input[offset...])
            switch binaryParser.parse(rest) {
            case .request(let request, let consumed):
                offset += consumed
                connection.activity.store(request.command.textCommand.rawValue &+ 1, ordering: .relaxed)
                switch executeBinary(request, connection) {
                case .next: break
                case .close: return ProcessOutcome(consumed: offset, close: true)
                case .streaming, .awaiting: return ProcessOutcome(consumed: offset)
                }
            case .needMore(let atLeast):
                return ProcessOutcome(consumed: offset, needAtLeast: atLeast)
            case .badMagic:
                return ProcessOutcome(consumed: input.count, close: true)
            case .refused(let header, let status, let consumed, let swallow, let close):
                output.appendBinaryError(header, status)
                offset += consumed
                if close { return ProcessOutcome(consumed: input.count, close: true) }
                if swallow > 0 { return ProcessOutcome(consumed: offset, swallow: swallow) }
            case .tooLarge(let header, let key, let consumed, let swallow):
                // As memcached does for set: the client meant to replace the old value.
                if header.opcode == .set || header.opcode == .setq, !key.isEmpty, view.routeWrite(key) == .local {
                    _ = try? store.delete(key, now: clock.now)
                }
                output.appendBinaryError(header, .tooLarge)
                offset += consumed
                if swallow > 0 { return ProcessOutcome(consumed: offset, swallow: swallow) }
            }
            if output.pendingCount >= 1 << 20 { break }  // let the socket drain before going on
        }
        return ProcessOutcome(consumed: offset)
    }

    private func executeBinary(_ request: BinaryRequest, _ connection: Connection) -> Next {
        let header = request.header
        let output = connection.output
        switch request.command {
        case .noop:
            output.appendBinaryResponse(header)
        case .version:
            var version = FlareVersion.string
            version.withUTF8 { output.appendBinaryResponse(header, body: UnsafeRawBufferPointer($0)) }
        case .quit:
            if !request.quiet { output.appendBinaryResponse(header) }
            return .close
        case .flush:
            binaryFlush(request, output)
        case .stat:
            binaryStats(request, output)
        case .unknown:
            output.appendBinaryError(header, .unknownCommand)  // the parser answers these; not reached
        case .get, .getk, .gat, .gatk, .touch, .set, .add, .replace, .append, .prepend, .delete, .increment, .decrement:
            if serving != .serve {
                binaryScratch.removeAll()
                if refused(Request(command: request.command.textCommand, key: request.key), binaryScratch) {
                    appendTextFailure(header, binaryScratch.pending, output)
                    return .next
                }
            }
            switch request.command {
            case .get, .getk, .gat, .gatk, .touch: return binaryRetrieve(request, connection)
            default: return binaryWrite(request, connection)
            }
        }
        return .next
    }

    /// Whether the text protocol can carry `key`: keys travel between nodes (forwarding,
    /// replication) in text requests, where a space or control character would split or end them.
    /// The binary protocol takes any bytes, and such keys are served where no copy or forward is needed.
    func isTextKey(_ key: UnsafeRawBufferPointer) -> Bool {
        parser.isValidKey(key) && !key.contains(0x20)
    }

    /// Refuses a key the text protocol cannot carry when this request would have to send it to another node.
    private func refusesUntransportableKey(_ request: BinaryRequest, forwarded: Bool, copied: Bool, _ output: ReplyBuffer) -> Bool {
        guard (forwarded || copied) && !isTextKey(request.key) else { return false }
        output.appendBinaryError(request.header, .invalidArguments,
                                 message: "a key with spaces or control characters cannot be \(forwarded ? "forwarded to its owner" : "replicated")")
        return true
    }

    /// Whether a write executed here is copied to other nodes or the replication backlog.
    private var copiesWrites: Bool { view.mayReplicate || recordsBacklog }

    // MARK: Reads and touches

    private func binaryRetrieve(_ request: BinaryRequest, _ connection: Connection) -> Next {
        let touching = request.command != .get && request.command != .getk
        let route = touching ? view.routeWrite(request.key) : view.routeRead(request.key, using: &readerRandom)
        switch route {
        case .local:
            if touching && refusesUntransportableKey(request, forwarded: false, copied: copiesWrites, connection.output) { return .next }
            return touching ? binaryTouchLocal(request, connection) : binaryGetLocal(request, connection.output)
        case .forward(let nodeKey):
            if refusesUntransportableKey(request, forwarded: true, copied: false, connection.output) { return .next }
            return forwardBinaryRetrieval(request, to: nodeKey, connection)
        case .noPartition:
            connection.output.appendBinaryError(request.header, .temporaryFailure, message: "no partition available")
        case .unavailable:
            connection.output.appendBinaryError(request.header, .temporaryFailure, message: "proxy failure")
        }
        return .next
    }

    private func binaryGetLocal(_ request: BinaryRequest, _ output: ReplyBuffer) -> Next {
        let key = request.key
        let withKey = request.command == .getk
        counters.add(NodeCounter.cmdGet)
        do {
            let now = clock.now
            let hit: Void? = try store.get(key, now: now) { header, value in
                output.appendBinaryValue(request.header, flags: header.flags, key: withKey ? key : nil,
                                         value: value, cas: header.version)
                reads.record(header.version, now: now)
            }
            counters.add(hit == nil ? NodeCounter.getMisses : NodeCounter.getHits)
            if hit == nil { appendMiss(request, output) }
        } catch {
            context.markStorageFailure(error)
            counters.add(NodeCounter.getMisses)
            output.appendBinaryError(request.header, .internalError, message: "storage error")
        }
        return .next
    }

    /// touch, gat, gatk: a new expiry and version, replicated like the text touch and gat.
    private func binaryTouchLocal(_ request: BinaryRequest, _ connection: Connection) -> Next {
        let output = connection.output
        let key = request.key
        let now = clock.now
        let exptime = Int64(request.expiration)
        let returnsValue = request.command != .touch
        let withKey = request.command == .gatk
        counters.add(NodeCounter.cmdTouch)
        if returnsValue { counters.add(NodeCounter.cmdGet) }
        let mark = output.pendingCount
        let version: UInt64?
        var replaced = ReplacedItem()
        do {
            version = try store.touch(key, expire: Expiry.absolute(exptime, now: now), now: now, replaced: &replaced) { header, value in
                if returnsValue {
                    output.appendBinaryValue(request.header, flags: header.flags, key: withKey ? key : nil,
                                             value: value, cas: header.version)
                } else {
                    output.appendBinaryFlags(request.header, flags: header.flags, cas: header.version)
                }
                return header.version
            }
            if let version { carryReads(replaced, to: version, .touch) }
        } catch {
            context.markStorageFailure(error)
            output.appendBinaryError(request.header, .internalError, message: "storage error")
            return .next
        }
        counters.add(version == nil ? NodeCounter.touchMisses : NodeCounter.touchHits)
        if returnsValue { counters.add(version == nil ? NodeCounter.getMisses : NodeCounter.getHits) }
        guard let version else {
            appendMiss(request, output)
            return .next
        }
        guard copiesWrites else { return .next }
        var touch = Request(command: request.command == .touch ? .touch : .gat, key: key)
        touch.exptime = exptime
        guard request.command == .touch else {
            // As the text gat: the new expiry is copied without holding the read's reply.
            replicateReadBack(key: key, of: touch, version: version)
            return .next
        }
        return replicate(touch, version: version, replyMark: mark, connection,
                         failureReply: binaryReplicationFailure(request.header))
    }

    /// A miss: quiet gets say nothing; getk and gatk name the key.
    private func appendMiss(_ request: BinaryRequest, _ output: ReplyBuffer) {
        guard !request.quiet else { return }
        if request.command == .getk || request.command == .gatk {
            output.appendBinaryKeyMiss(request.header, key: request.key)
        } else {
            output.appendBinaryError(request.header, .keyNotFound)
        }
    }

    /// `gets <key>`, or `gats <expiry> <key>` for touch and gat: the owner's reply carries the
    /// flags and cas the binary answer needs. Reads carry no proxy prefix, as in flare.
    private func forwardBinaryRetrieval(_ request: BinaryRequest, to nodeKey: String, _ connection: Connection) -> Next {
        let output = connection.output
        guard let node = view.map[nodeKey: nodeKey] else {
            output.appendBinaryError(request.header, .temporaryFailure, message: "proxy error")
            return .next
        }
        let link = peerPool.link(to: node, lane: peerPool.lane(for: connection))
        let out = link.output
        if request.command == .get || request.command == .getk {
            out.append("gets ")
        } else {
            out.append("gats ")
            ForwardedRequest.appendExpiry(Expiry.absolute(Int64(request.expiration), now: clock.now), to: out)
            out.append(byte: 0x20)
        }
        out.append(request.key)
        out.appendCRLF()
        let header = request.header
        let command = request.command
        let quiet = request.quiet
        let key = Array(request.key)
        let logger = context.logger
        let slot = connection.openSlot()
        link.expect(.values) { result in
            connection.fill(slot) { output in
                var answer = BinaryTextReply.Values.miss
                switch result {
                case .success(let reply):
                    answer = BinaryTextReply.values(reply.bytes)
                case .failure(let failure):
                    logger.warning("\(failure)")
                    // An owner that cannot be reached makes a read a miss, as for text reads (and
                    // in flare); touch is a write, and says it failed.
                    if command == .touch { answer = .failure(.temporaryFailure, "proxy error") }
                }
                switch answer {
                case .hit(let flags, let cas, let range):
                    guard case .success(let reply) = result else { return }
                    let value = UnsafeRawBufferPointer(rebasing: reply.bytes[range])
                    if command == .touch {
                        output.appendBinaryFlags(header, flags: flags, cas: cas)
                    } else if command == .getk || command == .gatk {
                        key.withUnsafeBytes { output.appendBinaryValue(header, flags: flags, key: $0, value: value, cas: cas) }
                    } else {
                        output.appendBinaryValue(header, flags: flags, key: nil, value: value, cas: cas)
                    }
                case .miss:
                    if !quiet {
                        if command == .getk || command == .gatk {
                            key.withUnsafeBytes { output.appendBinaryKeyMiss(header, key: $0) }
                        } else {
                            output.appendBinaryError(header, .keyNotFound)
                        }
                    }
                case .failure(let status, let message):
                    output.appendBinaryError(header, status, message: message)
                }
            }
        }
        return .next
    }

    // MARK: Writes

    /// The text request a binary write runs as. A cas on set, add or replace makes it a `cas`
    /// (memcached: the cas decides, whatever the command).
    private func textWrite(_ request: BinaryRequest) -> Request {
        var text = Request(command: request.command.textCommand, key: request.key)
        switch request.command {
        case .set, .add, .replace:
            text.flags = request.flags
            text.exptime = Int64(request.expiration)
            text.value = request.value
            if request.header.cas != 0 {
                text.command = .cas
                text.casUnique = request.header.cas
            }
        case .append, .prepend:
            text.value = request.value
            text.casUnique = request.header.cas
        case .increment, .decrement:
            text.delta = request.delta
            text.casUnique = request.header.cas
        default:
            text.casUnique = request.header.cas
        }
        return text
    }

    private func binaryWrite(_ request: BinaryRequest, _ connection: Connection) -> Next {
        let output = connection.output
        let text = textWrite(request)
        let route = view.routeWrite(request.key)
        if case .forward(let nodeKey) = route {
            if refusesUntransportableKey(request, forwarded: true, copied: false, output) { return .next }
            return forwardBinaryWrite(request, text, to: nodeKey, connection)
        }
        if route == .local && refusesUntransportableKey(request, forwarded: false, copied: copiesWrites, output) { return .next }
        binaryScratch.removeAll()
        guard routedLocally(route, text, binaryScratch) else {
            appendTextFailure(request.header, binaryScratch.pending, output)
            return .next
        }
        binaryScratch.removeAll()
        let version: UInt64
        switch text.command {
        case .delete: version = delete(text, binaryScratch)
        case .incr, .decr: version = arithmetic(text, binaryScratch)
        default: version = storeItem(text, binaryScratch)
        }
        let mark = output.pendingCount
        let line = BinaryTextReply.line(binaryScratch.pending, for: request.command)
        if line == .status(.keyNotFound), request.createsCounter {
            return createCounter(request, connection)
        }
        appendWriteReply(request, line, cas: request.command == .delete ? 0 : version, output)
        guard version != 0 && copiesWrites else { return .next }
        return replicate(text, version: version, replyMark: mark, connection,
                         failureReply: binaryReplicationFailure(request.header))
    }

    /// incr/decr of a missing key with an expiration other than "never create": the initial
    /// value is added, as memcached does; if another client added the key first, not stored.
    private func createCounter(_ request: BinaryRequest, _ connection: Connection) -> Next {
        let output = connection.output
        var digits = Array(String(request.initial).utf8)
        return digits.withUnsafeMutableBytes { digits in
            var add = Request(command: .add, key: request.key)
            add.exptime = Int64(request.expiration)
            add.value = UnsafeRawBufferPointer(digits)
            binaryScratch.removeAll()
            let version = storeItem(add, binaryScratch)
            let mark = output.pendingCount
            switch BinaryTextReply.line(binaryScratch.pending, for: .add) {
            case .success:
                if !request.quiet { output.appendBinaryCounter(request.header, value: request.initial, cas: version) }
            case .status(.keyExists):
                output.appendBinaryError(request.header, .notStored)
            case let line:
                appendWriteReply(request, line, cas: 0, output)
            }
            guard version != 0 && copiesWrites else { return .next }
            return replicate(add, version: version, replyMark: mark, connection,
                             failureReply: binaryReplicationFailure(request.header))
        }
    }

    private func appendWriteReply(_ request: BinaryRequest, _ line: BinaryTextReply.Line, cas: UInt64, _ output: ReplyBuffer) {
        switch line {
        case .success:
            if !request.quiet { output.appendBinaryResponse(request.header, cas: cas) }
        case .number(let value, _):
            if !request.quiet { output.appendBinaryCounter(request.header, value: value, cas: cas) }
        case .status(let status):
            output.appendBinaryError(request.header, status)
        case .failure(let status, let message):
            output.appendBinaryError(request.header, status, message: message)
        }
    }

    private func binaryReplicationFailure(_ header: BinaryHeader) -> (ReplyBuffer, String) -> Void {
        { output, nodes in output.appendBinaryError(header, .internalError, message: "replication to \(nodes) failed") }
    }

    /// A text failure line (a refusal, a routing error) as a binary error.
    private func appendTextFailure(_ header: BinaryHeader, _ text: UnsafeRawBufferPointer, _ output: ReplyBuffer) {
        switch BinaryTextReply.line(text, for: .get) {
        case .status(let status): output.appendBinaryError(header, status)
        case .failure(let status, let message): output.appendBinaryError(header, status, message: message)
        case .success, .number: output.appendBinaryError(header, .internalError)
        }
    }

    /// Sends the text twin to the key's master and translates its one-line reply; a missing
    /// counter to be created takes a second request, an `add` of the initial value.
    private func forwardBinaryWrite(_ request: BinaryRequest, _ text: Request, to nodeKey: String,
                                    _ connection: Connection) -> Next {
        let output = connection.output
        if request.header.cas != 0 && text.command != .cas {
            // The text protocol has no way to pass a cas with these to the owner.
            output.appendBinaryError(request.header, .notSupported,
                                     message: "a cas with append, prepend, delete, incr or decr is not supported for a key another node owns")
            return .next
        }
        guard let node = view.map[nodeKey: nodeKey] else {
            output.appendBinaryError(request.header, .temporaryFailure, message: "proxy error")
            return .next
        }
        let link = peerPool.link(to: node, lane: peerPool.lane(for: connection))
        let mark = link.output.pendingCount
        // The owner's reply names the item's new version: the binary answer's cas.
        var text = text
        text.returnsVersion = text.command != .delete
        ForwardedRequest.appendWrite(text, selfKey: view.selfKey, now: clock.now, to: link.output)
        // A counter to create may need the incr again (see forwardCounterCreation).
        let incr = request.createsCounter ? Array(link.output.pending[mark...]) : []
        let header = request.header
        let command = request.command
        let quiet = request.quiet
        let createsCounter = request.createsCounter
        let initial = request.initial
        let expiration = request.expiration
        let key = Array(request.key)
        let logger = context.logger
        let slot = connection.openSlot()
        link.expect(.line) { [self] result in
            var line: BinaryTextReply.Line
            switch result {
            case .success(let reply): line = BinaryTextReply.line(reply.bytes, for: command)
            case .failure(let failure):
                logger.warning("\(failure)")
                line = .failure(.temporaryFailure, "proxy error")
            }
            if line == .status(.keyNotFound) && createsCounter {
                forwardCounterCreation(key: key, initial: initial, expiration: expiration, header: header,
                                       quiet: quiet, incr: incr, link: link, slot: slot, connection)
                return
            }
            connection.fill(slot) { appendWriteReply(header: header, quiet: quiet, line, $0) }
        }
        return .next
    }

    /// The owner had no counter: add it with the initial value. If the add finds the key, another
    /// request created it meanwhile — a pipelined incr of the same key whose add went first — so the
    /// incr is sent once more and its result is the answer, as if the requests had run one by one.
    private func forwardCounterCreation(key: [UInt8], initial: UInt64, expiration: UInt32, header: BinaryHeader,
                                        quiet: Bool, incr: [UInt8], link: PeerLink, slot: Connection.ReplySlot,
                                        _ connection: Connection) {
        let digits = Array(String(initial).utf8)
        key.withUnsafeBytes { key in
            digits.withUnsafeBytes { digits in
                var add = Request(command: .add, key: key)
                add.exptime = Int64(expiration)
                add.value = digits
                add.returnsVersion = true
                ForwardedRequest.appendWrite(add, selfKey: view.selfKey, now: clock.now, to: link.output)
            }
        }
        let logger = context.logger
        link.expect(.line) { [self] result in
            var line: BinaryTextReply.Line
            switch result {
            case .success(let reply): line = BinaryTextReply.line(reply.bytes, for: .add)
            case .failure(let failure):
                logger.warning("\(failure)")
                line = .failure(.temporaryFailure, "proxy error")
            }
            if line == .status(.keyExists) {
                incr.withUnsafeBytes { link.output.append($0) }
                link.expect(.line) { [self] result in
                    let line: BinaryTextReply.Line
                    switch result {
                    case .success(let reply): line = BinaryTextReply.line(reply.bytes, for: .increment)
                    case .failure(let failure):
                        logger.warning("\(failure)")
                        line = .failure(.temporaryFailure, "proxy error")
                    }
                    connection.fill(slot) { appendWriteReply(header: header, quiet: quiet, line, $0) }
                }
                return
            }
            if case .success(let cas) = line { line = .number(initial, cas: cas) }
            connection.fill(slot) { appendWriteReply(header: header, quiet: quiet, line, $0) }
        }
    }

    private func appendWriteReply(header: BinaryHeader, quiet: Bool, _ line: BinaryTextReply.Line, _ output: ReplyBuffer) {
        switch line {
        case .success(let cas):
            if !quiet { output.appendBinaryResponse(header, cas: cas) }
        case .number(let value, let cas):
            if !quiet { output.appendBinaryCounter(header, value: value, cas: cas) }
        case .status(let status):
            output.appendBinaryError(header, status)
        case .failure(let status, let message):
            output.appendBinaryError(header, status, message: message)
        }
    }

    // MARK: flush, stat

    /// flush with an optional expiration: memcached's rules (relative up to 30 days, else a Unix time).
    private func binaryFlush(_ request: BinaryRequest, _ output: ReplyBuffer) {
        var flush = Request(command: .flushAll, key: UnsafeRawBufferPointer(start: nil, count: 0))
        if request.extras.count == 4 {
            let exptime = Int64(request.expiration)
            flush.number = exptime <= Expiry.relativeLimit ? exptime : max(0, exptime - clock.now)
        }
        binaryScratch.removeAll()
        flushAll(flush, binaryScratch)
        appendWriteReply(header: request.header, quiet: request.quiet,
                         BinaryTextReply.line(binaryScratch.pending, for: .flush), output)
    }

    /// The text `stats [group]` reply, one binary packet per `STAT name value` line, then the
    /// empty one that ends the list; a group this server does not have is "not found", as in memcached.
    private func binaryStats(_ request: BinaryRequest, _ output: ReplyBuffer) {
        binaryScratch.removeAll()
        stats(Request(command: .stats, key: request.key), binaryScratch)
        let text = binaryScratch.pending
        var offset = 0
        while offset < text.count {
            let rest = UnsafeRawBufferPointer(rebasing: text[offset...])
            let newline = rest.firstIndex(of: 0x0A) ?? rest.count
            var end = newline
            if end > 0 && rest[end - 1] == 0x0D { end -= 1 }
            let line = UnsafeRawBufferPointer(rebasing: rest[..<end])
            offset += newline + 1
            if line.starts(with: "STAT ".utf8) {
                let stat = UnsafeRawBufferPointer(rebasing: line[5...])
                let space = stat.firstIndex(of: 0x20) ?? stat.count
                let name = UnsafeRawBufferPointer(rebasing: stat[..<space])
                let value = UnsafeRawBufferPointer(rebasing: stat[min(space + 1, stat.count)...])
                output.appendBinaryStat(request.header, name: name, value: value)
            } else if line.equals("END") {
                break
            } else {
                output.appendBinaryError(request.header, .keyNotFound)
                return
            }
        }
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        output.appendBinaryStat(request.header, name: empty, value: empty)
    }
}

extension BinaryRequest {
    /// incr/decr that creates a missing counter with its initial value.
    var createsCounter: Bool {
        (command == .increment || command == .decrement) && expiration != BinaryProtocol.noCreateExpiration
    }
}
