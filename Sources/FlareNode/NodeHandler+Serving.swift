import FlareProtocol

/// Requests refused by the control plane's serving decision (`StallGuard.Batch`).
extension NodeHandler {
    /// Writes the refusal and returns true when `request` may not run in this batch. Only reached
    /// when the batch is not `.serve`, so the routing below costs nothing in the common case.
    func refused(_ request: Request, _ output: ReplyBuffer) -> Bool {
        switch serving {
        case .serve:
            return false
        case .refuseData:
            if !request.noreply { output.append("SERVER_ERROR waiting for the index server to confirm this node's role\r\n") }
            return true
        case .refuseMaster:
            guard actsAsMaster(request) else { return false }
            if !request.noreply {
                let silence = context.stallGuard.silentMilliseconds().map { "for \($0) ms" } ?? "yet"
                output.append("SERVER_ERROR this node has not heard from the index server \(silence): refusing to act as master\r\n")
            }
            return true
        }
    }

    /// Whether this node would run `request` as the master of its partition: a write it executes,
    /// or a read it serves itself. Forwarding to other nodes stays allowed.
    private func actsAsMaster(_ request: Request) -> Bool {
        guard view.masterOf >= 0 else { return false }
        switch request.command {
        case .get, .gets, .gat, .gats:
            let touching = request.command == .gat || request.command == .gats
            var keys = request.keys
            while let key = keys.next() {
                if (touching ? view.routeWrite(key) : view.routeRead(key, using: &readerRandom)) == .local { return true }
            }
            return false
        default:
            // A copy is applied as a copy, never executed as master.
            if !request.proxyPath.isEmpty && ProxyPath.lastHop(request.proxyPath).stamp != nil { return false }
            return view.routeWrite(request.key) == .local
        }
    }
}
