import FlareCluster
import FlareNet
import FlareProtocol

/// Requests that depend on the cluster: routing decisions and the index's `node sync`.
extension NodeHandler {
    /// True when the request runs here; otherwise the reply for the other cases is written.
    func routedLocally(_ route: Route, _ request: Request, _ output: ReplyBuffer) -> Bool {
        switch route {
        case .local:
            return true
        case .noPartition:
            if !request.noreply { output.append("SERVER_ERROR no partition available\r\n") }
        case .unavailable:
            if !request.noreply { output.append("SERVER_ERROR proxy failure\r\n") }
        case .forward:
            if !request.noreply { output.append("SERVER_ERROR proxy error\r\n") }
        }
        return false
    }

    /// A copy (ProxyPath): true if it may be applied here; otherwise the refusal is written.
    /// `sender` and `stamp`: the copy's last hop (`ProxyPath.lastHop`).
    func acceptsCopy(_ request: Request, sender: UnsafeRawBufferPointer, stamp: UInt64, _ output: ReplyBuffer) -> Bool {
        if !lastCopySender.matches(sender) { lastCopySender = CopySender(sender) }
        let senderKey = lastCopySender.key
        if view.acceptsCopy(of: request.key, from: senderKey, stamp: stamp, floor: lastCopySender.floor(in: view)) { return true }
        counters.add(NodeCounter.replicasRefused)
        if !request.noreply {
            output.append("SERVER_ERROR copy from \(senderKey) (map version \(stamp)) refused: not the source of this partition's copies in node map version \(view.version)\r\n")
        }
        return false
    }

    /// `node sync [<version>]` + `NODE` lines + `END` (docs/original-behaviour.md, "Node server commands"), accepted
    /// only from the configured index servers (by peer address). Any other `node …` is an index-server command:
    /// `ERROR`. Returns the bytes used after the request line, or nil if the body is incomplete.
    func nodeCommand(_ request: Request, body: UnsafeRawBufferPointer, from peer: String, _ output: ReplyBuffer) -> Int? {
        var args = request.arguments
        guard let sub = args.next(), sub.equals("sync") else {
            output.append("ERROR\r\n")
            return 0
        }
        var version: UInt64 = 0
        if let word = args.next() {
            guard let v = Decimal.version(word), args.isAtEnd else {
                output.append("ERROR\r\n")
                return 0
            }
            version = v
        }
        var lines: [String] = []
        var offset = 0
        while true {
            let rest = UnsafeRawBufferPointer(rebasing: body[offset...])
            guard let newline = rest.firstIndex(of: 0x0A) else {
                if body.count - offset > context.limits.maxLineLength * 64 {
                    output.append("CLIENT_ERROR format error\r\n")
                    return body.count
                }
                return nil
            }
            let end = newline > 0 && rest[newline - 1] == 0x0D ? newline - 1 : newline
            let line = String(decoding: UnsafeRawBufferPointer(rebasing: rest[..<end]), as: UTF8.self)
            offset += newline + 1
            if line == "END" { break }
            guard line.hasPrefix("NODE ") else {
                // As the original: the rest of the push is then read as ordinary commands.
                output.append("CLIENT_ERROR format error\r\n")
                return offset - (newline + 1)
            }
            lines.append(line)
        }
        // Only an index server may install a map: checked after the body is read, so that its
        // NODE lines are never run as commands.
        let indexPeers = context.membership.indexPeers
        guard indexPeers.allows(peer: peer) else {
            let allowed = indexPeers.allowed
            context.logger.warning("refused node sync \(version) from \(peer): not an index server (\(allowed.isEmpty ? "none configured" : allowed.joined(separator: ",")))")
            output.append("SERVER_ERROR node sync refused: \(peer) is not an index server of this node\r\n")
            return offset
        }
        guard let map = try? NodeMap(nodeLines: lines) else {
            output.append("CLIENT_ERROR format error\r\n")
            return offset
        }
        switch context.membership.applySync(version: version, map: map) {
        case .applied(let newView):
            // Requests behind the push on this connection must already see the new map.
            view = newView
            output.append("OK\r\n")
        case .stale: output.append("SERVER_ERROR node sync error\r\n")
        }
        return offset
    }
}
