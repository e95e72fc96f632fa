import FlareProtocol

/// How a request is re-written when forwarded to another node (docs/original-behaviour.md, "Node server commands"):
/// expiry times made absolute by the forwarding node's clock, and the proxy prefix naming the nodes passed.
enum ForwardedRequest {
    /// `<path,self>` — the incoming path plus this node; a copy adds `@stamp`, the version of the
    /// node map this master acted under (ProxyPath, CopyFloors).
    static func appendPrefix(_ request: Request, selfKey: String, stamp: UInt64? = nil, to out: ReplyBuffer) {
        out.append(byte: UInt8(ascii: "<"))
        if !request.proxyPath.isEmpty {
            out.append(request.proxyPath)
            out.append(byte: UInt8(ascii: ","))
        }
        out.append(selfKey)
        if let stamp {
            out.append(byte: UInt8(ascii: "@"))
            out.appendDecimal(stamp)
        }
        out.append(byte: UInt8(ascii: ">"))
    }

    /// An absolute expiry as the receiver will read it: "already expired" must not become the
    /// relative 1 second that a bare `1` would mean.
    static func appendExpiry(_ absolute: Int64, to out: ReplyBuffer) {
        if absolute == Expiry.absolute(-1, now: 0) {
            out.append("-1")
        } else {
            out.appendDecimal(absolute)
        }
    }

    static func appendOptions(_ request: Request, to out: ReplyBuffer) {
        if request.noreply { out.append(" noreply") }
        if request.returnsVersion { out.append(" withcas") }
        switch request.replication {
        case .sync: out.append(" sync")
        case .async: out.append(" async")
        case .configured: break
        }
    }

    /// Writes a single-key write command (set family, cas, delete, incr/decr, touch) to `out`.
    static func appendWrite(_ request: Request, selfKey: String, now: Int64, to out: ReplyBuffer) {
        appendPrefix(request, selfKey: selfKey, to: out)
        out.append(request.command.name)
        out.append(byte: 0x20)
        out.append(request.key)
        switch request.command {
        case .set, .add, .replace, .append, .prepend, .cas:
            out.append(byte: 0x20)
            out.appendDecimal(UInt64(request.flags))
            out.append(byte: 0x20)
            appendExpiry(Expiry.absolute(request.exptime, now: now), to: out)
            out.append(byte: 0x20)
            out.appendDecimal(UInt64(request.value.count))
            if request.command == .cas {
                out.append(byte: 0x20)
                out.appendDecimal(request.casUnique)
            } else if request.version != 0 {
                out.append(byte: 0x20)
                out.appendDecimal(request.version)
            }
        case .delete:
            if request.number != 0 || request.version != 0 {
                out.append(byte: 0x20)
                appendExpiry(request.number == 0 ? 0 : Expiry.absolute(request.number, now: now), to: out)
                if request.version != 0 {
                    out.append(byte: 0x20)
                    out.appendDecimal(request.version)
                }
            }
        case .incr, .decr:
            out.append(byte: 0x20)
            out.appendDecimal(request.delta)
        case .touch:
            out.append(byte: 0x20)
            appendExpiry(Expiry.absolute(request.exptime, now: now), to: out)
        default:
            break
        }
        appendOptions(request, to: out)
        out.appendCRLF()
        if request.command.hasDataBlock {
            out.append(request.value)
            out.appendCRLF()
        }
    }
}
