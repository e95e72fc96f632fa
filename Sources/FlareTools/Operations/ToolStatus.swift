/// The exit status of a sub-command: the original's S_OK / S_NG.
public enum ToolStatus: Int32, Sendable {
    case success = 0
    case failure = 1
}

extension Array where Element == String {
    /// The original silently exits 1 when a sub-command that needs nodes gets none; say why.
    func requireNodes(_ usage: String) throws {
        if isEmpty { throw ToolError.invalidArgument("no node specified (usage: \(usage))") }
    }
}

extension NodeAddress {
    /// How prompts and notices name a node: its resolved address and port (Resolv.getaddress).
    var shown: String { "\(HostAddress.numeric(host)):\(port)" }
}
